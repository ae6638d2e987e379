-- cartnudge shop contract: completed_orders — FIRST DRAFT for Magento 2.4 on MariaDB
--
-- Orders completed in a time range, read by each sweep to mark recovered orders: an order whose
-- recovery_token belongs to one of cartnudge's deliveries was recovered through its URL; with
-- window attribution, a purchase by a reminded customer within the window counts too.
--
-- Columns it must return:
--   order_id        integer
--   customer_id     integer    NULL allowed
--   completed_at    timestamp  (shop.timestamps_timezone)
--   total_amount    integer    yen
--   recovery_token  text       the token of the recovery URL the shopper came back with, or NULL
--
-- Bind parameters:
--   :completed_from  orders completed at or after this
--   :completed_to    and before this
--
-- Magento mapping (draft): placed orders not canceled, by created_at (SALES_ORDER_CREATED_AT).
-- order_id is sales_order.entity_id, NOT the quote id abandoned_orders.sql calls order_id; the
-- cart the order came from is sales_order.quote_id, which the contract has no column for.
-- Magento stores no recovery token (NULL unless a module adds a column).
SELECT
  o.entity_id     AS order_id,
  o.customer_id   AS customer_id,
  o.created_at    AS completed_at,
  o.grand_total   AS total_amount,
  NULL            AS recovery_token
FROM sales_order o
WHERE o.state <> 'canceled'
  AND o.created_at >= :completed_from
  AND o.created_at < :completed_to
