-- cartnudge shop contract: completed_orders
--
-- Orders completed in a time range, read by each sweep to mark the abandoned orders that came
-- back (cartnudge pages it itself by order_id: no ORDER BY or LIMIT here). An order is
-- attributed to a reminder by the recovery token it came with, or by the abandoned order (or
-- cart) it came from; return either or both (both attribute, neither counts twice). With window
-- attribution, a purchase by a reminded person within the window counts too.
--
-- Columns:
--   order_id            integer or text   required
--   customer_id         integer or text   required (NULL allowed)
--   completed_at        timestamp         required (shop.timestamps_timezone)
--   total_amount        number            required: the items' total with tax, no shipping
--   recovery_token      text              optional: the recovery URL's token, or NULL
--   abandoned_order_id  integer or text   optional: the abandoned order/cart it came from
--   email               text              optional: lets window attribution match the person
--   coupon_code         text              optional: the coupon code the order used, or NULL
--                                         (marks a code cartnudge gave as redeemed)
--
-- Bind parameters:
--   :completed_from  orders completed at or after this
--   :completed_to    and before this
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
