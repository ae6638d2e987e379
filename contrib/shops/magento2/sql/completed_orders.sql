-- cartnudge shop contract: completed_orders — Magento 2.4 on MariaDB
--
-- Orders placed (any state but canceled) in a time range; cartnudge pages it itself. Magento
-- records the quote (cart) an order was placed from: sales_order.quote_id is the abandoned
-- order id (attribution by cart, no token column needed).
--
-- Bind parameters:
--   :completed_from  orders placed at or after this
--   :completed_to    and before this
SELECT
  o.entity_id     AS order_id,
  o.customer_id   AS customer_id,
  o.created_at    AS completed_at,
  o.subtotal_incl_tax AS total_amount,
  o.quote_id      AS abandoned_order_id,
  o.customer_email AS email
FROM sales_order o
WHERE o.state <> 'canceled'
  AND o.created_at >= :completed_from
  AND o.created_at < :completed_to
