-- cartnudge shop contract: abandoned_in_period — FIRST DRAFT for Magento 2.4 on MariaDB
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
-- Magento mapping (draft): active quotes with items and no live order, by updated_at. A quote
-- that was bought is inactive and its updated_at is the time of the purchase: when it had been
-- abandoned before is not recorded anywhere, so recovered carts drop out of this figure.
SELECT
  q.entity_id AS order_id,
  CASE WHEN EXISTS (SELECT 1 FROM sales_order c
                     WHERE c.quote_id = q.entity_id AND c.state = 'canceled') THEN 'payment_failed'
       WHEN EXISTS (SELECT 1 FROM quote_address sa
                     WHERE sa.quote_id = q.entity_id AND sa.address_type = 'shipping'
                       AND sa.shipping_method IS NOT NULL) THEN 'confirm'
       ELSE 'cart' END AS abandoned_step,
  q.updated_at AS abandoned_at,
  q.grand_total AS total_amount,
  CASE WHEN q.customer_is_guest = 0 AND ce.entity_id IS NOT NULL THEN 'member'
       ELSE 'visitor' END AS customer_status
FROM quote q
LEFT JOIN customer_entity ce ON ce.entity_id = q.customer_id
WHERE q.is_active = 1
  AND q.items_count > 0
  AND NOT EXISTS (SELECT 1 FROM sales_order o
                   WHERE o.quote_id = q.entity_id AND o.state <> 'canceled')
  AND q.updated_at >= :abandoned_from
  AND q.updated_at < :abandoned_to
  AND q.entity_id > :after_id
ORDER BY q.entity_id
LIMIT :chunk_size
