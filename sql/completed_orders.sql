-- cartnudge shop contract: completed_orders
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
-- Optional columns:
--   coupon_code     text       the coupon code the order used, or NULL (marks a given code redeemed)
--
-- Bind parameters:
--   :completed_from  orders completed at or after this
--   :completed_to    and before this
--   :after_id        keyset: the last page's last order_id (first page: -1)
--   :chunk_size      rows per page
SELECT
  o.id             AS order_id,
  o.customer_id    AS customer_id,
  o.completed_at   AS completed_at,
  o.total_amount   AS total_amount,
  o.recovery_token AS recovery_token,
  o.coupon_code    AS coupon_code
FROM orders o
WHERE o.state = 'completed'
  AND o.completed_at >= :completed_from
  AND o.completed_at < :completed_to
  AND o.id > :after_id
ORDER BY o.id
LIMIT :chunk_size
