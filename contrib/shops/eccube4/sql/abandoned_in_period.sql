-- cartnudge shop contract: abandoned_in_period — FIRST DRAFT for EC-CUBE 4.2 on PostgreSQL
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
--
-- EC-CUBE mapping (draft): the rows of abandoned_orders.sql (status-8 orders and carts
-- without an order, the latter with the 1000000000 + cart id HACK), abandoned_at =
-- update_date. EC-CUBE moves a recovered order out of status 8 and overwrites update_date,
-- and deletes the cart: a recovered cart is no longer countable here (no history table).
SELECT a.order_id, a.abandoned_step, a.abandoned_at, a.total_amount,
       CASE WHEN cu.customer_status_id = 2 THEN 'member' ELSE 'visitor' END AS customer_status
FROM (
  SELECT o.id AS order_id, 'confirm' AS abandoned_step, o.update_date AS abandoned_at,
         o.total AS total_amount, o.customer_id
    FROM dtb_order o
   WHERE o.order_status_id = 8
  UNION ALL
  SELECT 1000000000 + c.id, 'cart', c.update_date, c.total_price, c.customer_id
    FROM dtb_cart c
   WHERE c.pre_order_id IS NULL
) a
LEFT JOIN dtb_customer cu ON cu.id = a.customer_id
WHERE a.abandoned_at >= :abandoned_from
  AND a.abandoned_at < :abandoned_to
  AND a.order_id > :after_id
ORDER BY a.order_id
LIMIT :chunk_size
