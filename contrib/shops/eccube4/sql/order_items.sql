-- cartnudge shop contract: order_items — FIRST DRAFT for EC-CUBE 4.2 on PostgreSQL
--
-- The items of the orders about to be reminded (the message lists them).
--
-- Columns it must return:
--   order_id      integer  the order the item belongs to
--   product_id    integer
--   product_name  text
--   quantity      integer
--   unit_price    integer  yen
--
-- Bind parameters:
--   :order_ids    a list of order ids (expanded to IN (...))
--
-- EC-CUBE mapping (draft): order rows: dtb_order_item lines of type 商品 (order_item_type_id
-- 1; the delivery fee, charge and discount are lines too), unit price with tax = price + tax
-- when the line is 税抜 (tax_display_type_id 1), price when 税込. Cart rows (order_id
-- 1000000000 + dtb_cart.id, see abandoned.sql): dtb_cart_item, whose price already
-- includes tax and which has no name: it comes from dtb_product through dtb_product_class.
-- quantity and prices are NUMERIC: whole numbers in JPY.
SELECT
  oi.order_id,
  oi.product_id,
  oi.product_name,
  oi.quantity,
  CASE WHEN oi.tax_display_type_id = 2 THEN oi.price ELSE oi.price + oi.tax END AS unit_price
FROM dtb_order_item oi
WHERE oi.order_id IN :order_ids
  AND oi.order_item_type_id = 1
UNION ALL
SELECT
  1000000000 + ci.cart_id,
  pc.product_id,
  p.name,
  ci.quantity,
  ci.price
FROM dtb_cart_item ci
JOIN dtb_product_class pc ON pc.id = ci.product_class_id
JOIN dtb_product p ON p.id = pc.product_id
WHERE 1000000000 + ci.cart_id IN :order_ids
ORDER BY 1, 2
