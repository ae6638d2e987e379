-- cartnudge shop contract: product_status (optional)
--
-- The current price and stock of the products in some carts: trigger steps (price_drop,
-- low_stock) fire on them, and an item now out of stock is left out of every reminder.
-- Leave this file out when the shop cannot say; a configuration with trigger steps needs it.
--
-- Columns it must return (one row per order and product; NULL: not known):
--   order_id       integer or text  the order (cart) the product is in
--   product_id     integer or text  as order_items.sql returns it
--   current_price  number   the unit price with tax now (minor unit after conversion)
--   stock          integer  units left to sell now (0 or less: out of stock)
--
-- Bind parameters:
--   :order_ids     a list of order ids (expanded to IN (...))
SELECT DISTINCT
  oi.order_id   AS order_id,
  oi.product_id AS product_id,
  p.price       AS current_price,
  p.stock       AS stock
FROM order_items oi
JOIN products p ON p.id = oi.product_id
WHERE oi.order_id IN :order_ids
