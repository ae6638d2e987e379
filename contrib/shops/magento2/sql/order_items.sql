-- cartnudge shop contract: order_items — FIRST DRAFT for Magento 2.4 on MariaDB
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
-- Magento mapping (draft): the quote's visible lines (parent_item_id IS NULL: a configurable
-- product's child line carries no price). qty is decimal(12,4) (fractional when the product
-- allows decimal quantities); price_incl_tax is decimal(20,4) and fractional whenever the
-- catalog prices exclude tax; price (without tax) almost always is. Discounts are not in it.
SELECT
  qi.quote_id       AS order_id,
  qi.product_id     AS product_id,
  qi.name           AS product_name,
  qi.qty            AS quantity,
  qi.price_incl_tax AS unit_price
FROM quote_item qi
WHERE qi.quote_id IN :order_ids
  AND qi.parent_item_id IS NULL
ORDER BY qi.quote_id, qi.item_id
