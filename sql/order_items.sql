-- cartnudge shop contract: order_items
--
-- The items of the orders about to be reminded (the message lists them).
--
-- Columns it must return:
--   order_id      integer or text  the order the item belongs to
--   product_id    integer
--   product_name  text
--   quantity      integer
--   unit_price    number   the unit price with tax (minor unit after conversion; see total_amount)
--
-- Optional columns:
--   category      text     the product's category, for segments' include/exclude_categories
--   image_url     text     the product's picture (http or https), shown in the HTML e-mail
--   product_url   text     the product's page (http or https), linked from the item's name
--
-- Bind parameters:
--   :order_ids    a list of order ids (expanded to IN (...))
SELECT
  oi.order_id     AS order_id,
  oi.product_id   AS product_id,
  oi.product_name AS product_name,
  oi.quantity     AS quantity,
  oi.unit_price   AS unit_price,
  p.category      AS category,
  p.image_url     AS image_url,
  p.page_url      AS product_url
FROM order_items oi
LEFT JOIN products p ON p.id = oi.product_id
WHERE oi.order_id IN :order_ids
ORDER BY oi.order_id, oi.id
