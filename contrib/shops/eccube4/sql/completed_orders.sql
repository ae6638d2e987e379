-- cartnudge shop contract: completed_orders — EC-CUBE 4.2 on PostgreSQL
--
-- Orders completed (新規受付 1, 対応中 4, 入金済み 5, 発送済み 6) in a time range; cartnudge pages
-- it itself. EC-CUBE completes a purchase-in-progress order IN PLACE (status 8 -> 1, same id),
-- so the abandoned order an order came from is the order itself: abandoned_order_id = id
-- (attribution by cart, no token column needed). The e-mail lets window attribution match a
-- guest to her member record.
--
-- Bind parameters:
--   :completed_from  orders completed at or after this
--   :completed_to    and before this
SELECT
  o.id            AS order_id,
  o.customer_id   AS customer_id,
  o.order_date    AS completed_at,
  o.subtotal      AS total_amount,
  o.id            AS abandoned_order_id,
  o.email         AS email
FROM dtb_order o
WHERE o.order_status_id IN (1, 4, 5, 6)
  AND o.order_date >= :completed_from
  AND o.order_date < :completed_to
