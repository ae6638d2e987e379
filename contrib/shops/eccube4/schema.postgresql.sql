-- EC-CUBE 4 — the subset of the shop schema cartnudge reads, as PostgreSQL DDL.
--
-- Source: https://github.com/EC-CUBE/ec-cube, tag 4.2.3 (commit daed16e5da3c6847b232af24b06d76d55d8cbd42,
-- 2023-11-06; the 4.2 branch head). The 4.3 branch (commit 778652134d, 2024-03-27) differs from
-- it only in Customer.php, Order.php and Product.php, not in the columns used here.
-- EC-CUBE ships no SQL DDL: `bin/console doctrine:schema:create` derives it from the Doctrine
-- ORM annotations (doctrine/orm 2.14.0, doctrine/dbal 3.5.2 in composer.lock). This file is that
-- derivation written out by hand for the PostgreSQL platform, from:
--   src/Eccube/Entity/Cart.php, CartItem.php, Order.php, OrderItem.php, Shipping.php,
--   Customer.php, Product.php, ProductClass.php, PointTrait.php, PointRateTrait.php,
--   src/Eccube/Entity/Master/AbstractMasterEntity.php, OrderStatus.php, CustomerStatus.php,
--   OrderItemType.php, TaxDisplayType.php, DeviceType.php, SaleType.php, ProductStatus.php, Pref.php,
--   src/Eccube/Doctrine/DBAL/Types/UTCDateTimeTzType.php (datetimetz: written in UTC, SQL comment hint),
--   master rows: src/Eccube/Resource/doctrine/import_csv/ja/mtb_*.csv (copied below as they are).
-- And the consent column: https://github.com/EC-CUBE/mail-magazine-plugin, tag 4.2.3 (commit
-- d65ca5591d185f09a8ee1fdfa6e051d96363e5ac, package ec-cube/mailmagazine42), Entity/CustomerTrait.php:
-- EC-CUBE 4 core has NO mail-magazine column; the official plugin adds dtb_customer.plg_mailmagazine_flg
-- (smallint, nullable, default 0; 1 = 受け取る, 0 = 受け取らない). (EC-CUBE 2's column was mailmaga_flg.)
--
-- Type mapping (Doctrine DBAL 3 PostgreSQLPlatform): integer + GeneratedValue(IDENTITY) -> SERIAL;
-- integer -> INT; smallint -> SMALLINT; string -> VARCHAR(length, 255 when none); text -> TEXT;
-- decimal(p,s) -> NUMERIC(p, s); boolean -> BOOLEAN; datetimetz -> TIMESTAMP(0) WITH TIME ZONE.
-- options={"unsigned":true} has no effect on PostgreSQL. Index and foreign-key names are the ones
-- Doctrine generates (IDX_/FK_ + crc32 of table and column names); the named indexes are the
-- entities' own. The single-table-inheritance column discriminator_type is on every table.
--
-- Left out on purpose (present in a real installation): columns cartnudge does not read (e.g.
-- dtb_customer.sex_id/job_id/country_id/reset_key, dtb_order.payment_id/sex_id/job_id/country_id,
-- dtb_order_item.rounding_type_id/tax_type_id/tax_rule_id, dtb_product_class.class_category_id1/2,
-- creator_id, delivery_duration_id, dtb_shipping.delivery_id/creator_id) and the tables they point
-- to; the extra foreign keys Doctrine puts on dtb_order.order_status_id towards
-- mtb_customer_order_status and mtb_order_status_color (same column, three associations).

CREATE TABLE mtb_customer_status (id SMALLINT NOT NULL, name VARCHAR(255) NOT NULL, sort_no SMALLINT NOT NULL, discriminator_type VARCHAR(255) NOT NULL, PRIMARY KEY(id));
CREATE TABLE mtb_order_status (id SMALLINT NOT NULL, display_order_count BOOLEAN DEFAULT false NOT NULL, name VARCHAR(255) NOT NULL, sort_no SMALLINT NOT NULL, discriminator_type VARCHAR(255) NOT NULL, PRIMARY KEY(id));
CREATE TABLE mtb_order_item_type (id SMALLINT NOT NULL, name VARCHAR(255) NOT NULL, sort_no SMALLINT NOT NULL, discriminator_type VARCHAR(255) NOT NULL, PRIMARY KEY(id));
CREATE TABLE mtb_tax_display_type (id SMALLINT NOT NULL, name VARCHAR(255) NOT NULL, sort_no SMALLINT NOT NULL, discriminator_type VARCHAR(255) NOT NULL, PRIMARY KEY(id));
CREATE TABLE mtb_device_type (id SMALLINT NOT NULL, name VARCHAR(255) NOT NULL, sort_no SMALLINT NOT NULL, discriminator_type VARCHAR(255) NOT NULL, PRIMARY KEY(id));
CREATE TABLE mtb_sale_type (id SMALLINT NOT NULL, name VARCHAR(255) NOT NULL, sort_no SMALLINT NOT NULL, discriminator_type VARCHAR(255) NOT NULL, PRIMARY KEY(id));
CREATE TABLE mtb_product_status (id SMALLINT NOT NULL, name VARCHAR(255) NOT NULL, sort_no SMALLINT NOT NULL, discriminator_type VARCHAR(255) NOT NULL, PRIMARY KEY(id));
CREATE TABLE mtb_pref (id SMALLINT NOT NULL, name VARCHAR(255) NOT NULL, sort_no SMALLINT NOT NULL, discriminator_type VARCHAR(255) NOT NULL, PRIMARY KEY(id));

-- Customer.php (+ MailMagazine42 CustomerTrait)
CREATE TABLE dtb_customer (
  id SERIAL NOT NULL,
  customer_status_id SMALLINT DEFAULT NULL,
  pref_id SMALLINT DEFAULT NULL,
  name01 VARCHAR(255) NOT NULL,
  name02 VARCHAR(255) NOT NULL,
  kana01 VARCHAR(255) DEFAULT NULL,
  kana02 VARCHAR(255) DEFAULT NULL,
  company_name VARCHAR(255) DEFAULT NULL,
  postal_code VARCHAR(8) DEFAULT NULL,
  addr01 VARCHAR(255) DEFAULT NULL,
  addr02 VARCHAR(255) DEFAULT NULL,
  email VARCHAR(255) NOT NULL,
  phone_number VARCHAR(14) DEFAULT NULL,
  birth TIMESTAMP(0) WITH TIME ZONE DEFAULT NULL,
  password VARCHAR(255) NOT NULL,
  salt VARCHAR(255) DEFAULT NULL,
  secret_key VARCHAR(255) NOT NULL,
  first_buy_date TIMESTAMP(0) WITH TIME ZONE DEFAULT NULL,
  last_buy_date TIMESTAMP(0) WITH TIME ZONE DEFAULT NULL,
  buy_times NUMERIC(10, 0) DEFAULT '0',
  buy_total NUMERIC(12, 2) DEFAULT '0',
  note VARCHAR(4000) DEFAULT NULL,
  point NUMERIC(12, 0) DEFAULT '0' NOT NULL,
  create_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  update_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  discriminator_type VARCHAR(255) NOT NULL,
  plg_mailmagazine_flg SMALLINT DEFAULT 0,
  PRIMARY KEY(id)
);
CREATE INDEX IDX_8298BBE3C00AF8A7 ON dtb_customer (customer_status_id);
CREATE INDEX IDX_8298BBE3E171EF5F ON dtb_customer (pref_id);
CREATE INDEX dtb_customer_buy_times_idx ON dtb_customer (buy_times);
CREATE INDEX dtb_customer_buy_total_idx ON dtb_customer (buy_total);
CREATE INDEX dtb_customer_create_date_idx ON dtb_customer (create_date);
CREATE INDEX dtb_customer_update_date_idx ON dtb_customer (update_date);
CREATE INDEX dtb_customer_last_buy_date_idx ON dtb_customer (last_buy_date);
CREATE INDEX dtb_customer_email_idx ON dtb_customer (email);
CREATE UNIQUE INDEX secret_key ON dtb_customer (secret_key);

-- Product.php
CREATE TABLE dtb_product (
  id SERIAL NOT NULL,
  product_status_id SMALLINT DEFAULT NULL,
  name VARCHAR(255) NOT NULL,
  note TEXT DEFAULT NULL,
  description_list TEXT DEFAULT NULL,
  description_detail TEXT DEFAULT NULL,
  search_word TEXT DEFAULT NULL,
  free_area TEXT DEFAULT NULL,
  create_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  update_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  discriminator_type VARCHAR(255) NOT NULL,
  PRIMARY KEY(id)
);
CREATE INDEX IDX_C49DE22F557B630 ON dtb_product (product_status_id);

-- ProductClass.php (+ PointRateTrait): price02 is the selling price WITHOUT tax.
CREATE TABLE dtb_product_class (
  id SERIAL NOT NULL,
  product_id INT DEFAULT NULL,
  sale_type_id SMALLINT DEFAULT NULL,
  product_code VARCHAR(255) DEFAULT NULL,
  stock NUMERIC(10, 0) DEFAULT NULL,
  stock_unlimited BOOLEAN DEFAULT false NOT NULL,
  sale_limit NUMERIC(10, 0) DEFAULT NULL,
  price01 NUMERIC(12, 2) DEFAULT NULL,
  price02 NUMERIC(12, 2) NOT NULL,
  delivery_fee NUMERIC(12, 2) DEFAULT NULL,
  visible BOOLEAN DEFAULT true NOT NULL,
  create_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  update_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  currency_code VARCHAR(255) DEFAULT NULL,
  point_rate NUMERIC(10, 0) DEFAULT NULL,
  discriminator_type VARCHAR(255) NOT NULL,
  PRIMARY KEY(id)
);
CREATE INDEX IDX_1A11D1BA4584665A ON dtb_product_class (product_id);
CREATE INDEX IDX_1A11D1BAB0524E01 ON dtb_product_class (sale_type_id);
CREATE INDEX dtb_product_class_price02_idx ON dtb_product_class (price02);
CREATE INDEX dtb_product_class_stock_stock_unlimited_idx ON dtb_product_class (stock, stock_unlimited);

-- Cart.php (+ PointTrait). cart_key: '<customer id>_<sale type>' for members,
-- '<32 random chars>_<sale type>' for guests (CartService::createCartKey).
CREATE TABLE dtb_cart (
  id SERIAL NOT NULL,
  customer_id INT DEFAULT NULL,
  cart_key VARCHAR(255) DEFAULT NULL,
  pre_order_id VARCHAR(255) DEFAULT NULL,
  total_price NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  delivery_fee_total NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  sort_no SMALLINT DEFAULT NULL,
  create_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  update_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  add_point NUMERIC(12, 0) DEFAULT '0' NOT NULL,
  use_point NUMERIC(12, 0) DEFAULT '0' NOT NULL,
  discriminator_type VARCHAR(255) NOT NULL,
  PRIMARY KEY(id)
);
CREATE INDEX IDX_FC3C24F09395C3F3 ON dtb_cart (customer_id);
CREATE INDEX dtb_cart_update_date_idx ON dtb_cart (update_date);
CREATE UNIQUE INDEX dtb_cart_pre_order_id_idx ON dtb_cart (pre_order_id);

-- CartItem.php (+ PointRateTrait): price is the unit price WITH tax (CartService::addProduct
-- sets ProductClass::getPrice02IncTax()); there is no product name on the row.
CREATE TABLE dtb_cart_item (
  id SERIAL NOT NULL,
  product_class_id INT DEFAULT NULL,
  cart_id INT DEFAULT NULL,
  price NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  quantity NUMERIC(10, 0) DEFAULT '0' NOT NULL,
  point_rate NUMERIC(10, 0) DEFAULT NULL,
  discriminator_type VARCHAR(255) NOT NULL,
  PRIMARY KEY(id)
);
CREATE INDEX IDX_B0228F7421B06187 ON dtb_cart_item (product_class_id);
CREATE INDEX IDX_B0228F741AD5CDBF ON dtb_cart_item (cart_id);

-- Order.php (+ PointTrait). An order row exists from the moment a shopper opens the purchase
-- screen (/shopping): OrderHelper::createPurchaseProcessingOrder() creates it with
-- order_status_id 8 (購入処理中) and a random pre_order_id (sha1) also written on the cart.
-- Completing the purchase moves the SAME row to 1 新規受付 (or 6/7 with some payments), sets
-- order_date, and deletes the cart (CartService::clear).
CREATE TABLE dtb_order (
  id SERIAL NOT NULL,
  customer_id INT DEFAULT NULL,
  pref_id SMALLINT DEFAULT NULL,
  device_type_id SMALLINT DEFAULT NULL,
  order_status_id SMALLINT DEFAULT NULL,
  pre_order_id VARCHAR(255) DEFAULT NULL,
  order_no VARCHAR(255) DEFAULT NULL,
  message VARCHAR(4000) DEFAULT NULL,
  name01 VARCHAR(255) NOT NULL,
  name02 VARCHAR(255) NOT NULL,
  kana01 VARCHAR(255) DEFAULT NULL,
  kana02 VARCHAR(255) DEFAULT NULL,
  company_name VARCHAR(255) DEFAULT NULL,
  email VARCHAR(255) DEFAULT NULL,
  phone_number VARCHAR(14) DEFAULT NULL,
  postal_code VARCHAR(8) DEFAULT NULL,
  addr01 VARCHAR(255) DEFAULT NULL,
  addr02 VARCHAR(255) DEFAULT NULL,
  birth TIMESTAMP(0) WITH TIME ZONE DEFAULT NULL,
  subtotal NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  discount NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  delivery_fee_total NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  charge NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  tax NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  total NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  payment_total NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  payment_method VARCHAR(255) DEFAULT NULL,
  note VARCHAR(4000) DEFAULT NULL,
  create_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  update_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  order_date TIMESTAMP(0) WITH TIME ZONE DEFAULT NULL,
  payment_date TIMESTAMP(0) WITH TIME ZONE DEFAULT NULL,
  currency_code VARCHAR(255) DEFAULT NULL,
  complete_message TEXT DEFAULT NULL,
  complete_mail_message TEXT DEFAULT NULL,
  add_point NUMERIC(12, 0) DEFAULT '0' NOT NULL,
  use_point NUMERIC(12, 0) DEFAULT '0' NOT NULL,
  discriminator_type VARCHAR(255) NOT NULL,
  PRIMARY KEY(id)
);
CREATE INDEX IDX_1D66D8079395C3F3 ON dtb_order (customer_id);
CREATE INDEX IDX_1D66D807E171EF5F ON dtb_order (pref_id);
CREATE INDEX IDX_1D66D8074FFA550E ON dtb_order (device_type_id);
CREATE INDEX IDX_1D66D807D7707B45 ON dtb_order (order_status_id);
CREATE INDEX dtb_order_email_idx ON dtb_order (email);
CREATE INDEX dtb_order_order_date_idx ON dtb_order (order_date);
CREATE INDEX dtb_order_payment_date_idx ON dtb_order (payment_date);
CREATE INDEX dtb_order_update_date_idx ON dtb_order (update_date);
CREATE INDEX dtb_order_order_no_idx ON dtb_order (order_no);
CREATE UNIQUE INDEX dtb_order_pre_order_id_idx ON dtb_order (pre_order_id);

-- Shipping.php
CREATE TABLE dtb_shipping (
  id SERIAL NOT NULL,
  order_id INT DEFAULT NULL,
  pref_id SMALLINT DEFAULT NULL,
  name01 VARCHAR(255) NOT NULL,
  name02 VARCHAR(255) NOT NULL,
  kana01 VARCHAR(255) DEFAULT NULL,
  kana02 VARCHAR(255) DEFAULT NULL,
  company_name VARCHAR(255) DEFAULT NULL,
  phone_number VARCHAR(14) DEFAULT NULL,
  postal_code VARCHAR(8) DEFAULT NULL,
  addr01 VARCHAR(255) DEFAULT NULL,
  addr02 VARCHAR(255) DEFAULT NULL,
  delivery_name VARCHAR(255) DEFAULT NULL,
  time_id INT DEFAULT NULL,
  delivery_time VARCHAR(255) DEFAULT NULL,
  delivery_date TIMESTAMP(0) WITH TIME ZONE DEFAULT NULL,
  shipping_date TIMESTAMP(0) WITH TIME ZONE DEFAULT NULL,
  tracking_number VARCHAR(255) DEFAULT NULL,
  note VARCHAR(4000) DEFAULT NULL,
  sort_no SMALLINT DEFAULT NULL,
  create_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  update_date TIMESTAMP(0) WITH TIME ZONE NOT NULL,
  mail_send_date TIMESTAMP(0) WITH TIME ZONE DEFAULT NULL,
  discriminator_type VARCHAR(255) NOT NULL,
  PRIMARY KEY(id)
);
CREATE INDEX IDX_2EBD22CE8D9F6D38 ON dtb_shipping (order_id);
CREATE INDEX IDX_2EBD22CEE171EF5F ON dtb_shipping (pref_id);

-- OrderItem.php (+ PointRateTrait). One row per product AND per delivery fee, charge, discount
-- (order_item_type_id). price is without tax when tax_display_type_id = 1 (税抜: products), with
-- tax when 2 (税込: delivery fee, charge); OrderItem::getPriceIncTax().
CREATE TABLE dtb_order_item (
  id SERIAL NOT NULL,
  order_id INT DEFAULT NULL,
  product_id INT DEFAULT NULL,
  product_class_id INT DEFAULT NULL,
  shipping_id INT DEFAULT NULL,
  tax_display_type_id SMALLINT DEFAULT NULL,
  order_item_type_id SMALLINT DEFAULT NULL,
  product_name VARCHAR(255) NOT NULL,
  product_code VARCHAR(255) DEFAULT NULL,
  class_name1 VARCHAR(255) DEFAULT NULL,
  class_name2 VARCHAR(255) DEFAULT NULL,
  class_category_name1 VARCHAR(255) DEFAULT NULL,
  class_category_name2 VARCHAR(255) DEFAULT NULL,
  price NUMERIC(12, 2) DEFAULT '0' NOT NULL,
  quantity NUMERIC(10, 0) DEFAULT '0' NOT NULL,
  tax NUMERIC(10, 0) DEFAULT '0' NOT NULL,
  tax_rate NUMERIC(10, 0) DEFAULT '0' NOT NULL,
  tax_adjust NUMERIC(10, 0) DEFAULT '0' NOT NULL,
  tax_rule_id SMALLINT DEFAULT NULL,
  currency_code VARCHAR(255) DEFAULT NULL,
  processor_name VARCHAR(255) DEFAULT NULL,
  point_rate NUMERIC(10, 0) DEFAULT NULL,
  discriminator_type VARCHAR(255) NOT NULL,
  PRIMARY KEY(id)
);
CREATE INDEX IDX_A0C8C3ED8D9F6D38 ON dtb_order_item (order_id);
CREATE INDEX IDX_A0C8C3ED4584665A ON dtb_order_item (product_id);
CREATE INDEX IDX_A0C8C3ED21B06187 ON dtb_order_item (product_class_id);
CREATE INDEX IDX_A0C8C3ED4887F3F8 ON dtb_order_item (shipping_id);
CREATE INDEX IDX_A0C8C3EDA2505856 ON dtb_order_item (tax_display_type_id);
CREATE INDEX IDX_A0C8C3EDCAD13EAD ON dtb_order_item (order_item_type_id);

-- The datetimetz SQL comment hint (UTCDateTimeTzType::requiresSQLCommentHint returns true).
COMMENT ON COLUMN dtb_customer.create_date IS '(DC2Type:datetimetz)';
COMMENT ON COLUMN dtb_customer.update_date IS '(DC2Type:datetimetz)';
COMMENT ON COLUMN dtb_cart.create_date IS '(DC2Type:datetimetz)';
COMMENT ON COLUMN dtb_cart.update_date IS '(DC2Type:datetimetz)';
COMMENT ON COLUMN dtb_order.create_date IS '(DC2Type:datetimetz)';
COMMENT ON COLUMN dtb_order.update_date IS '(DC2Type:datetimetz)';
COMMENT ON COLUMN dtb_order.order_date IS '(DC2Type:datetimetz)';
COMMENT ON COLUMN dtb_order.payment_date IS '(DC2Type:datetimetz)';

ALTER TABLE dtb_customer ADD CONSTRAINT FK_8298BBE3C00AF8A7 FOREIGN KEY (customer_status_id) REFERENCES mtb_customer_status (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_customer ADD CONSTRAINT FK_8298BBE3E171EF5F FOREIGN KEY (pref_id) REFERENCES mtb_pref (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_product ADD CONSTRAINT FK_C49DE22F557B630 FOREIGN KEY (product_status_id) REFERENCES mtb_product_status (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_product_class ADD CONSTRAINT FK_1A11D1BA4584665A FOREIGN KEY (product_id) REFERENCES dtb_product (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_product_class ADD CONSTRAINT FK_1A11D1BAB0524E01 FOREIGN KEY (sale_type_id) REFERENCES mtb_sale_type (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_cart ADD CONSTRAINT FK_FC3C24F09395C3F3 FOREIGN KEY (customer_id) REFERENCES dtb_customer (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_cart_item ADD CONSTRAINT FK_B0228F7421B06187 FOREIGN KEY (product_class_id) REFERENCES dtb_product_class (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_cart_item ADD CONSTRAINT FK_B0228F741AD5CDBF FOREIGN KEY (cart_id) REFERENCES dtb_cart (id) ON DELETE CASCADE NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order ADD CONSTRAINT FK_1D66D8079395C3F3 FOREIGN KEY (customer_id) REFERENCES dtb_customer (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order ADD CONSTRAINT FK_1D66D807E171EF5F FOREIGN KEY (pref_id) REFERENCES mtb_pref (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order ADD CONSTRAINT FK_1D66D8074FFA550E FOREIGN KEY (device_type_id) REFERENCES mtb_device_type (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order ADD CONSTRAINT FK_1D66D807D7707B45 FOREIGN KEY (order_status_id) REFERENCES mtb_order_status (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_shipping ADD CONSTRAINT FK_2EBD22CE8D9F6D38 FOREIGN KEY (order_id) REFERENCES dtb_order (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_shipping ADD CONSTRAINT FK_2EBD22CEE171EF5F FOREIGN KEY (pref_id) REFERENCES mtb_pref (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order_item ADD CONSTRAINT FK_A0C8C3ED8D9F6D38 FOREIGN KEY (order_id) REFERENCES dtb_order (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order_item ADD CONSTRAINT FK_A0C8C3ED4584665A FOREIGN KEY (product_id) REFERENCES dtb_product (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order_item ADD CONSTRAINT FK_A0C8C3ED21B06187 FOREIGN KEY (product_class_id) REFERENCES dtb_product_class (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order_item ADD CONSTRAINT FK_A0C8C3ED4887F3F8 FOREIGN KEY (shipping_id) REFERENCES dtb_shipping (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order_item ADD CONSTRAINT FK_A0C8C3EDA2505856 FOREIGN KEY (tax_display_type_id) REFERENCES mtb_tax_display_type (id) NOT DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE dtb_order_item ADD CONSTRAINT FK_A0C8C3EDCAD13EAD FOREIGN KEY (order_item_type_id) REFERENCES mtb_order_item_type (id) NOT DEFERRABLE INITIALLY IMMEDIATE;

-- Master data (EC-CUBE installs these rows; src/Eccube/Resource/doctrine/import_csv/ja/).
-- mtb_customer_status.csv
INSERT INTO mtb_customer_status (id, name, sort_no, discriminator_type) VALUES
  (1, '仮会員', 0, 'customerstatus'),
  (2, '本会員', 1, 'customerstatus'),
  (3, '退会', 2, 'customerstatus');

-- mtb_order_status.csv
INSERT INTO mtb_order_status (id, name, sort_no, display_order_count, discriminator_type) VALUES
  (1, '新規受付', 0, true, 'orderstatus'),
  (3, '注文取消し', 3, false, 'orderstatus'),
  (4, '対応中', 2, true, 'orderstatus'),
  (5, '発送済み', 4, false, 'orderstatus'),
  (6, '入金済み', 1, true, 'orderstatus'),
  (7, '決済処理中', 6, false, 'orderstatus'),
  (8, '購入処理中', 5, false, 'orderstatus'),
  (9, '返品', 7, false, 'orderstatus');

-- mtb_order_item_type.csv
INSERT INTO mtb_order_item_type (id, name, sort_no, discriminator_type) VALUES
  (1, '商品', 0, 'orderitemtype'),
  (2, '送料', 1, 'orderitemtype'),
  (3, '手数料', 2, 'orderitemtype'),
  (4, '割引', 3, 'orderitemtype'),
  (5, '税', 4, 'orderitemtype'),
  (6, 'ポイント', 5, 'orderitemtype');

-- mtb_tax_display_type.csv
INSERT INTO mtb_tax_display_type (id, name, sort_no, discriminator_type) VALUES
  (1, '税抜', 0, 'taxdisplaytype'),
  (2, '税込', 1, 'taxdisplaytype');

-- mtb_device_type.csv
INSERT INTO mtb_device_type (id, name, sort_no, discriminator_type) VALUES
  (2, 'モバイル', 0, 'devicetype'),
  (10, 'PC', 1, 'devicetype');

-- mtb_sale_type.csv
INSERT INTO mtb_sale_type (id, name, sort_no, discriminator_type) VALUES
  (1, '販売種別A', 0, 'saletype'),
  (2, '販売種別B', 1, 'saletype');

-- mtb_product_status.csv
INSERT INTO mtb_product_status (id, name, sort_no, discriminator_type) VALUES
  (1, '公開', 0, 'productstatus'),
  (2, '非公開', 1, 'productstatus'),
  (3, '廃止', 2, 'productstatus');

-- mtb_pref.csv
INSERT INTO mtb_pref (id, name, sort_no, discriminator_type) VALUES
  (1, '北海道', 1, 'pref'),
  (2, '青森県', 2, 'pref'),
  (3, '岩手県', 3, 'pref'),
  (4, '宮城県', 4, 'pref'),
  (5, '秋田県', 5, 'pref'),
  (6, '山形県', 6, 'pref'),
  (7, '福島県', 7, 'pref'),
  (8, '茨城県', 8, 'pref'),
  (9, '栃木県', 9, 'pref'),
  (10, '群馬県', 10, 'pref'),
  (11, '埼玉県', 11, 'pref'),
  (12, '千葉県', 12, 'pref'),
  (13, '東京都', 13, 'pref'),
  (14, '神奈川県', 14, 'pref'),
  (15, '新潟県', 15, 'pref'),
  (16, '富山県', 16, 'pref'),
  (17, '石川県', 17, 'pref'),
  (18, '福井県', 18, 'pref'),
  (19, '山梨県', 19, 'pref'),
  (20, '長野県', 20, 'pref'),
  (21, '岐阜県', 21, 'pref'),
  (22, '静岡県', 22, 'pref'),
  (23, '愛知県', 23, 'pref'),
  (24, '三重県', 24, 'pref'),
  (25, '滋賀県', 25, 'pref'),
  (26, '京都府', 26, 'pref'),
  (27, '大阪府', 27, 'pref'),
  (28, '兵庫県', 28, 'pref'),
  (29, '奈良県', 29, 'pref'),
  (30, '和歌山県', 30, 'pref'),
  (31, '鳥取県', 31, 'pref'),
  (32, '島根県', 32, 'pref'),
  (33, '岡山県', 33, 'pref'),
  (34, '広島県', 34, 'pref'),
  (35, '山口県', 35, 'pref'),
  (36, '徳島県', 36, 'pref'),
  (37, '香川県', 37, 'pref'),
  (38, '愛媛県', 38, 'pref'),
  (39, '高知県', 39, 'pref'),
  (40, '福岡県', 40, 'pref'),
  (41, '佐賀県', 41, 'pref'),
  (42, '長崎県', 42, 'pref'),
  (43, '熊本県', 43, 'pref'),
  (44, '大分県', 44, 'pref'),
  (45, '宮崎県', 45, 'pref'),
  (46, '鹿児島県', 46, 'pref'),
  (47, '沖縄県', 47, 'pref');

