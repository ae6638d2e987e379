-- cartnudge shop contract: abandoned_in_period
--
-- Orders in abandoned state that were abandoned in a time range, in keyset pages by order id,
-- for `cartnudge report` (the "abandoned" figure of each flow: 'input' for abandoned_step
-- 'input', 'confirm' for the others). A shop that moves an order out of the abandoned state
-- when the shopper comes back and buys it should select by abandoned_at alone, so that the
-- carts it recovered still count as abandoned.
--
-- Columns it must return:
--   order_id          integer    the order's id (also the keyset)
--   abandoned_step    text       'cart' | 'confirm' | 'payment_failed' | 'input'
--   abandoned_at      timestamp  when the shopper left (shop.timestamps_timezone)
--   total_amount      integer    yen, total of the abandoned order
--   customer_status   text       'member' | 'visitor' (NULL allowed: no customer row)
--
-- Bind parameters:
--   :abandoned_from  orders abandoned at or after this
--   :abandoned_to    and before this
--   :after_id        keyset: the last page's last order_id (first page: -1)
--   :chunk_size      rows per page
SELECT
  o.id             AS order_id,
  o.abandoned_step AS abandoned_step,
  o.abandoned_at   AS abandoned_at,
  o.total_amount   AS total_amount,
  c.status         AS customer_status
FROM orders o
LEFT JOIN customers c ON c.id = o.customer_id
WHERE o.state = 'abandoned'
  AND o.abandoned_at >= :abandoned_from
  AND o.abandoned_at < :abandoned_to
  AND o.id > :after_id
ORDER BY o.id
LIMIT :chunk_size
