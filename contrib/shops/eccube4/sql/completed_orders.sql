-- cartnudge shop contract: completed_orders — FIRST DRAFT for EC-CUBE 4.2 on PostgreSQL
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
-- EC-CUBE mapping (draft): completed = status 1/4/5/6 (returned orders, 9, were completed
-- too), completed_at = order_date (dtb_order_order_date_idx). EC-CUBE stores no recovery token:
-- NULL until a plugin records it. But a recovered cart needs none: the purchase that completes
-- an abandoned order is the SAME dtb_order row (8 -> 1, same id and pre_order_id), so
-- order_id here equals the abandoned order_id when the shopper came back to that cart.
SELECT
  o.id            AS order_id,
  o.customer_id   AS customer_id,
  o.order_date    AS completed_at,
  o.total         AS total_amount,
  CAST(NULL AS TEXT) AS recovery_token
FROM dtb_order o
WHERE o.order_status_id IN (1, 4, 5, 6)
  AND o.order_date >= :completed_from
  AND o.order_date < :completed_to
