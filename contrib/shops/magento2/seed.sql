-- Magento 2 seed for cartnudge's tests: 和のくらし堂, a Japanese store view in JPY whose catalog
-- prices include tax (8% foods, 10% others). Load after schema.mariadb.sql
-- (tests/real_shops.py::load_shop does both, on one connection: the SET statements below hold
-- for the session).
--
-- Reference time: 2026-11-20 12:00 UTC (= 21:00 JST); a test runs
-- `cartnudge sweep --now 2026-11-20T21:00:00+09:00`. Every timestamp below is UTC, as Magento
-- writes them. Ages are relative to the reference time.
--
-- Abandoned by the shop's own definition (quote.is_active = 1, items_count > 0, customer_email
-- set, no sales_order with that quote_id):
--   quote  1  member 清水 (2)       09:00  3h, subscribed
--   quote  2  member 石川 (3)       06:00  6h, unsubscribed (subscriber_status 3)
--   quote  3  member 前田 (4)       02:00  10h, no newsletter_subscriber row at all
--   quote  4  guest 西村            08:30  3.5h, subscribed as a guest (customer_id 0)
--   quote  7  member 森 (1)         04:00  8h, Haruka.Mori@Example.jp
--   quote  8  guest 森              01:30  10.5h, haruka.mori@example.jp (same person, other case)
--   quote  9  deleted customer 13   2026-11-19 23:00  13h; customer_entity row gone
--   quote 10  member 長谷川 (7)     03:00  9h; 1,000 × ¥2,480,000 = ¥2,480,000,770 with shipping
--   quote 11  member 村上 (8)       04:30  7.5h; coupon WELCOME10: discount 581.48 yen (Magento
--                                          rounds to 2 decimals whatever the currency)
--   quote 14  member 遠藤 (11)      2026-10-15 11:00  36 days: past any cart validity
--   quote 15  member 青木 (12)      11:30  30 minutes: not due yet
--   quote 16  member 藤田 (5)       00:30  11.5h; she then bought the same items as a GUEST
--                                          (quote 17, order 000000107 at 09:45, no customer_id)
--   quote 18  member 岡田 (6)       08:00  4h; subscription unconfirmed (status 4); a
--                                          configurable product (parent + child quote_item)
-- Not abandoned by that definition but worth a look:
--   quote  5  guest 福田            07:15  e-mail only on quote_address (left at the shipping step)
--   quote  6  anonymous guest       05:00  no e-mail anywhere
--   quote 12  member 近藤 (9)       07:40  is_active 1 but order 000000105 (canceled: payment
--                                          declined) names it: the quote was restored
--   quote 13  member 坂本 (10)      converted: order 000000106 (processing) 10:00, is_active 0
--   quote 17  guest 藤田            converted: order 000000107 (new/pending) 09:45, is_active 0
--   quote 19  anonymous guest       empty (items_count 0)
-- Orders: 000000101 (清水, complete, 2026-09-01), 000000102 (長谷川, complete, 2026-10-20),
-- 000000103 (the deleted customer's, complete, 2026-08-08: customer_id NULL by ON DELETE SET
-- NULL, customer_is_guest still 0), 000000104 (guest 西村, closed, 2026-10-30), 105, 106, 107 above.
-- Amounts: decimal(20,4) (item prices decimal(12,4)); prices without tax have fractions
-- (¥980 incl. 8% -> 907.4074).
--
-- Written once with a throwaway script and checked by hand; edit this SQL directly.

SET SESSION time_zone = '+00:00';
SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO');

INSERT INTO store_website (website_id, code, name, sort_order, default_group_id, is_default) VALUES
  (0, 'admin', 'Admin', 0, 0, 0),
  (1, 'base', 'Main Website', 0, 1, 1);
INSERT INTO store_group (group_id, website_id, name, root_category_id, default_store_id, code) VALUES
  (0, 0, 'Default', 0, 0, 'default'),
  (1, 1, 'Main Website Store', 2, 1, 'main_website_store');
INSERT INTO store (store_id, code, website_id, group_id, name, sort_order, is_active) VALUES
  (0, 'admin', 0, 0, 'Admin', 0, 1),
  (1, 'default', 1, 1, '日本語', 0, 1);

INSERT INTO customer_entity (entity_id, website_id, email, group_id, store_id, created_at, updated_at, is_active, created_in, firstname, lastname, password_hash) VALUES
  (1, 1, 'Haruka.Mori@Example.jp', 1, 1, '2024-02-11 03:20:00', '2024-02-11 03:20:00', 1, '日本語', '遥', '森', 'argon2id-placeholder-1'),
  (2, 1, 'yuto.shimizu@example.jp', 1, 1, '2023-05-19 12:00:00', '2023-05-19 12:00:00', 1, '日本語', '悠斗', '清水', 'argon2id-placeholder-2'),
  (3, 1, 'miho.ishikawa@example.jp', 1, 1, '2025-01-07 08:45:00', '2025-01-07 08:45:00', 1, '日本語', '美穂', '石川', 'argon2id-placeholder-3'),
  (4, 1, 'ken.maeda@example.jp', 1, 1, '2026-03-03 23:10:00', '2026-03-03 23:10:00', 1, '日本語', '健', '前田', 'argon2id-placeholder-4'),
  (5, 1, 'yui.fujita@example.jp', 1, 1, '2022-07-30 01:00:00', '2022-07-30 01:00:00', 1, '日本語', '結衣', '藤田', 'argon2id-placeholder-5'),
  (6, 1, 'osamu.okada@example.jp', 1, 1, '2026-11-18 10:00:00', '2026-11-18 10:00:00', 1, '日本語', '修', '岡田', 'argon2id-placeholder-6'),
  (7, 1, 'ryoko.hasegawa@example.jp', 1, 1, '2021-12-24 14:30:00', '2021-12-24 14:30:00', 1, '日本語', '涼子', '長谷川', 'argon2id-placeholder-7'),
  (8, 1, 'ren.murakami@example.jp', 1, 1, '2024-09-09 09:09:00', '2024-09-09 09:09:00', 1, '日本語', '蓮', '村上', 'argon2id-placeholder-8'),
  (9, 1, 'miwa.kondo@example.jp', 1, 1, '2023-03-15 06:40:00', '2023-03-15 06:40:00', 1, '日本語', '美和', '近藤', 'argon2id-placeholder-9'),
  (10, 1, 'yamato.sakamoto@example.jp', 1, 1, '2020-10-01 00:00:00', '2020-10-01 00:00:00', 1, '日本語', '大和', '坂本', 'argon2id-placeholder-10'),
  (11, 1, 'hana.endo@example.jp', 1, 1, '2025-06-06 06:06:00', '2025-06-06 06:06:00', 1, '日本語', '花', '遠藤', 'argon2id-placeholder-11'),
  (12, 1, 'tsubasa.aoki@example.jp', 1, 1, '2026-08-20 02:15:00', '2026-08-20 02:15:00', 1, '日本語', '翼', '青木', 'argon2id-placeholder-12');
-- customer 13 (石井 海斗, kaito.ishii@example.jp) was deleted by an administrator on 2026-11-20:
-- no customer_entity row, no newsletter_subscriber row; quote 9 still names it, order 3 lost it.
INSERT INTO newsletter_subscriber (subscriber_id, store_id, change_status_at, customer_id, subscriber_email, subscriber_status, subscriber_confirm_code) VALUES
  (1, 1, '2024-02-11 03:20:00', 1, 'Haruka.Mori@Example.jp', 1, '00001eef'),
  (2, 1, '2023-05-19 12:00:00', 2, 'yuto.shimizu@example.jp', 1, '00003dde'),
  (3, 1, '2026-06-01 10:00:00', 3, 'miho.ishikawa@example.jp', 3, '00005ccd'),
  (4, 1, '2022-07-30 01:00:00', 5, 'yui.fujita@example.jp', 1, '00007bbc'),
  (5, 1, '2026-11-18 10:00:00', 6, 'osamu.okada@example.jp', 4, '00009aab'),
  (6, 1, '2021-12-24 14:30:00', 7, 'ryoko.hasegawa@example.jp', 1, '0000b99a'),
  (7, 1, '2024-09-09 09:09:00', 8, 'ren.murakami@example.jp', 1, '0000d889'),
  (8, 1, '2023-03-15 06:40:00', 9, 'miwa.kondo@example.jp', 1, '0000f778'),
  (9, 1, '2020-10-01 00:00:00', 10, 'yamato.sakamoto@example.jp', 1, '00011667'),
  (10, 1, '2025-06-06 06:06:00', 11, 'hana.endo@example.jp', 1, '00013556'),
  (11, 1, '2026-08-20 02:15:00', 12, 'tsubasa.aoki@example.jp', 1, '00015445'),
  (12, 1, '2026-10-30 11:00:00', 0, 'sho.nishimura@example.com', 1, '00017334');

INSERT INTO quote (entity_id, store_id, created_at, updated_at, converted_at, is_active, is_virtual, is_multi_shipping, items_count, items_qty, orig_order_id, base_currency_code, store_currency_code, quote_currency_code, grand_total, base_grand_total, checkout_method, customer_id, customer_tax_class_id, customer_group_id, customer_email, customer_firstname, customer_lastname, customer_note_notify, customer_is_guest, remote_ip, applied_rule_ids, reserved_order_id, coupon_code, global_currency_code, subtotal, base_subtotal, subtotal_with_discount, base_subtotal_with_discount, trigger_recollect) VALUES
  (1, 1, '2026-11-20 08:41:00', '2026-11-20 09:00:00', NULL, 1, 0, 0, 2, 3.0000, 0, 'JPY', 'JPY', 'JPY', 8410.0000, 8410.0000, NULL, 2, 3, 1, 'yuto.shimizu@example.jp', '悠斗', '清水', 1, 0, '203.0.113.1', NULL, NULL, NULL, 'JPY', 7000.0000, 7000.0000, 7000.0000, 7000.0000, 0),
  (2, 1, '2026-11-20 05:50:00', '2026-11-20 06:00:00', NULL, 1, 0, 0, 1, 1.0000, 0, 'JPY', 'JPY', 'JPY', 4750.0000, 4750.0000, NULL, 3, 3, 1, 'miho.ishikawa@example.jp', '美穂', '石川', 1, 0, '203.0.113.2', NULL, NULL, NULL, 'JPY', 3618.1818, 3618.1818, 3618.1818, 3618.1818, 0),
  (3, 1, '2026-11-20 01:30:00', '2026-11-20 02:00:00', NULL, 1, 0, 0, 1, 3.0000, 0, 'JPY', 'JPY', 'JPY', 4070.0000, 4070.0000, NULL, 4, 3, 1, 'ken.maeda@example.jp', '健', '前田', 1, 0, '203.0.113.3', NULL, NULL, NULL, 'JPY', 3000.0000, 3000.0000, 3000.0000, 3000.0000, 0),
  (4, 1, '2026-11-20 08:10:00', '2026-11-20 08:30:00', NULL, 1, 0, 0, 2, 3.0000, 0, 'JPY', 'JPY', 'JPY', 5970.0000, 5970.0000, 'guest', NULL, 3, 0, 'sho.nishimura@example.com', '翔', '西村', 1, 1, '203.0.113.4', NULL, NULL, NULL, 'JPY', 4814.8148, 4814.8148, 4814.8148, 4814.8148, 0),
  (5, 1, '2026-11-20 07:00:00', '2026-11-20 07:15:00', NULL, 1, 0, 0, 1, 1.0000, 0, 'JPY', 'JPY', 'JPY', 2970.0000, 2970.0000, 'guest', NULL, 3, 0, NULL, NULL, NULL, 1, 1, '203.0.113.5', NULL, NULL, NULL, 'JPY', 2000.0000, 2000.0000, 2000.0000, 2000.0000, 0),
  (6, 1, '2026-11-20 04:55:00', '2026-11-20 05:00:00', NULL, 1, 0, 0, 1, 1.0000, 0, 'JPY', 'JPY', 'JPY', 1100.0000, 1100.0000, NULL, NULL, 3, 0, NULL, NULL, NULL, 1, 1, '203.0.113.6', NULL, NULL, NULL, 'JPY', 1000.0000, 1000.0000, 1000.0000, 1000.0000, 0),
  (7, 1, '2026-11-20 03:40:00', '2026-11-20 04:00:00', NULL, 1, 0, 0, 1, 2.0000, 0, 'JPY', 'JPY', 'JPY', 7250.0000, 7250.0000, NULL, 1, 3, 1, 'Haruka.Mori@Example.jp', '遥', '森', 1, 0, '203.0.113.7', NULL, NULL, NULL, 'JPY', 6000.0000, 6000.0000, 6000.0000, 6000.0000, 0),
  (8, 1, '2026-11-20 01:20:00', '2026-11-20 01:30:00', NULL, 1, 0, 0, 1, 1.0000, 0, 'JPY', 'JPY', 'JPY', 1750.0000, 1750.0000, 'guest', NULL, 3, 0, 'haruka.mori@example.jp', '遥', '森', 1, 1, '203.0.113.8', NULL, NULL, NULL, 'JPY', 907.4074, 907.4074, 907.4074, 907.4074, 0),
  (9, 1, '2026-11-19 22:40:00', '2026-11-19 23:00:00', NULL, 1, 0, 0, 1, 2.0000, 0, 'JPY', 'JPY', 'JPY', 8730.0000, 8730.0000, NULL, 13, 3, 1, 'kaito.ishii@example.jp', '海斗', '石井', 1, 0, '203.0.113.9', NULL, NULL, NULL, 'JPY', 7236.3636, 7236.3636, 7236.3636, 7236.3636, 0),
  (10, 1, '2026-11-20 02:45:00', '2026-11-20 03:00:00', NULL, 1, 0, 0, 1, 1000.0000, 0, 'JPY', 'JPY', 'JPY', 2480000770.0000, 2480000770.0000, NULL, 7, 3, 1, 'ryoko.hasegawa@example.jp', '涼子', '長谷川', 1, 0, '203.0.113.10', NULL, NULL, NULL, 'JPY', 2254545454.5455, 2254545454.5455, 2254545454.5455, 2254545454.5455, 0),
  (11, 1, '2026-11-20 04:20:00', '2026-11-20 04:30:00', NULL, 1, 0, 0, 3, 4.0000, 0, 'JPY', 'JPY', 'JPY', 6488.5200, 6488.5200, NULL, 8, 3, 1, 'ren.murakami@example.jp', '蓮', '村上', 1, 0, '203.0.113.11', '1', NULL, 'WELCOME10', 'JPY', 5814.8148, 5814.8148, 5233.3348, 5233.3348, 0),
  (12, 1, '2026-11-20 07:20:00', '2026-11-20 07:40:00', NULL, 1, 0, 0, 2, 2.0000, 0, 'JPY', 'JPY', 'JPY', 3950.0000, 3950.0000, NULL, 9, 3, 1, 'miwa.kondo@example.jp', '美和', '近藤', 1, 0, '203.0.113.12', NULL, '000000105', NULL, 'JPY', 2907.4074, 2907.4074, 2907.4074, 2907.4074, 0),
  (13, 1, '2026-11-20 09:50:00', '2026-11-20 10:00:00', NULL, 0, 0, 0, 1, 1.0000, 0, 'JPY', 'JPY', 'JPY', 4750.0000, 4750.0000, NULL, 10, 3, 1, 'yamato.sakamoto@example.jp', '大和', '坂本', 1, 0, '203.0.113.13', NULL, '000000106', NULL, 'JPY', 3618.1818, 3618.1818, 3618.1818, 3618.1818, 0),
  (14, 1, '2026-10-15 10:40:00', '2026-10-15 11:00:00', NULL, 1, 0, 0, 1, 1.0000, 0, 'JPY', 'JPY', 'JPY', 4010.0000, 4010.0000, NULL, 11, 3, 1, 'hana.endo@example.jp', '花', '遠藤', 1, 0, '203.0.113.14', NULL, NULL, NULL, 'JPY', 3000.0000, 3000.0000, 3000.0000, 3000.0000, 0),
  (15, 1, '2026-11-20 11:20:00', '2026-11-20 11:30:00', NULL, 1, 0, 0, 1, 1.0000, 0, 'JPY', 'JPY', 'JPY', 2970.0000, 2970.0000, NULL, 12, 3, 1, 'tsubasa.aoki@example.jp', '翼', '青木', 1, 0, '203.0.113.15', NULL, NULL, NULL, 'JPY', 2000.0000, 2000.0000, 2000.0000, 2000.0000, 0),
  (16, 1, '2026-11-20 00:10:00', '2026-11-20 00:30:00', NULL, 1, 0, 0, 1, 3.0000, 0, 'JPY', 'JPY', 'JPY', 3710.0000, 3710.0000, NULL, 5, 3, 1, 'yui.fujita@example.jp', '結衣', '藤田', 1, 0, '203.0.113.16', NULL, NULL, NULL, 'JPY', 2722.2222, 2722.2222, 2722.2222, 2722.2222, 0),
  (17, 1, '2026-11-20 09:30:00', '2026-11-20 09:45:00', NULL, 0, 0, 0, 1, 3.0000, 0, 'JPY', 'JPY', 'JPY', 3710.0000, 3710.0000, 'guest', NULL, 3, 0, 'yui.fujita@example.jp', '結衣', '藤田', 1, 1, '203.0.113.17', NULL, '000000107', NULL, 'JPY', 2722.2222, 2722.2222, 2722.2222, 2722.2222, 0),
  (18, 1, '2026-11-20 07:45:00', '2026-11-20 08:00:00', NULL, 1, 0, 0, 1, 1.0000, 0, 'JPY', 'JPY', 'JPY', 17270.0000, 17270.0000, NULL, 6, 3, 1, 'osamu.okada@example.jp', '修', '岡田', 1, 0, '203.0.113.18', NULL, NULL, NULL, 'JPY', 15000.0000, 15000.0000, 15000.0000, 15000.0000, 0),
  (19, 1, '2026-11-20 10:05:00', '2026-11-20 10:05:00', NULL, 1, 0, 0, 0, 0.0000, 0, 'JPY', 'JPY', 'JPY', 0.0000, 0.0000, NULL, NULL, 3, 0, NULL, NULL, NULL, 1, 1, '203.0.113.19', NULL, NULL, NULL, 'JPY', 0.0000, 0.0000, 0.0000, 0.0000, 0);
INSERT INTO quote_item (item_id, quote_id, created_at, updated_at, product_id, store_id, parent_item_id, is_virtual, sku, name, no_discount, qty, price, base_price, discount_amount, base_discount_amount, tax_percent, tax_amount, base_tax_amount, row_total, base_row_total, product_type, price_incl_tax, base_price_incl_tax, row_total_incl_tax, base_row_total_incl_tax) VALUES
  (1, 1, '2026-11-20 08:41:00', '2026-11-20 09:00:00', 101, 1, NULL, 0, 'UJI-MATCHA-100', '宇治抹茶 100g 缶', 0, 1.0000, 3000.0000, 3000.0000, 0.0000, 0.0000, 8.0000, 240.0000, 240.0000, 3000.0000, 3000.0000, 'simple', 3240.0000, 3240.0000, 3240.0000, 3240.0000),
  (2, 1, '2026-11-20 08:41:00', '2026-11-20 09:00:00', 102, 1, NULL, 0, 'HASAMI-PLATE-21', '波佐見焼 プレート 21cm', 0, 2.0000, 2000.0000, 2000.0000, 0.0000, 0.0000, 10.0000, 400.0000, 400.0000, 4000.0000, 4000.0000, 'simple', 2200.0000, 2200.0000, 4400.0000, 4400.0000),
  (3, 2, '2026-11-20 05:50:00', '2026-11-20 06:00:00', 104, 1, NULL, 0, 'GINJO-NOMIKURABE-3', '吟醸酒 飲み比べ 300ml×3本', 0, 1.0000, 3618.1818, 3618.1818, 0.0000, 0.0000, 10.0000, 361.8182, 361.8182, 3618.1818, 3618.1818, 'simple', 3980.0000, 3980.0000, 3980.0000, 3980.0000),
  (4, 3, '2026-11-20 01:30:00', '2026-11-20 02:00:00', 103, 1, NULL, 0, 'TENUGUI-ASANOHA', '注染手ぬぐい 麻の葉', 0, 3.0000, 1000.0000, 1000.0000, 0.0000, 0.0000, 10.0000, 300.0000, 300.0000, 3000.0000, 3000.0000, 'simple', 1100.0000, 1100.0000, 3300.0000, 3300.0000),
  (5, 4, '2026-11-20 08:10:00', '2026-11-20 08:30:00', 107, 1, NULL, 0, 'HOJICHA-TB-20', 'ほうじ茶 ティーバッグ 20包', 0, 2.0000, 907.4074, 907.4074, 0.0000, 0.0000, 8.0000, 145.1852, 145.1852, 1814.8148, 1814.8148, 'simple', 980.0000, 980.0000, 1960.0000, 1960.0000),
  (6, 4, '2026-11-20 08:10:00', '2026-11-20 08:30:00', 101, 1, NULL, 0, 'UJI-MATCHA-100', '宇治抹茶 100g 缶', 0, 1.0000, 3000.0000, 3000.0000, 0.0000, 0.0000, 8.0000, 240.0000, 240.0000, 3000.0000, 3000.0000, 'simple', 3240.0000, 3240.0000, 3240.0000, 3240.0000),
  (7, 5, '2026-11-20 07:00:00', '2026-11-20 07:15:00', 102, 1, NULL, 0, 'HASAMI-PLATE-21', '波佐見焼 プレート 21cm', 0, 1.0000, 2000.0000, 2000.0000, 0.0000, 0.0000, 10.0000, 200.0000, 200.0000, 2000.0000, 2000.0000, 'simple', 2200.0000, 2200.0000, 2200.0000, 2200.0000),
  (8, 6, '2026-11-20 04:55:00', '2026-11-20 05:00:00', 103, 1, NULL, 0, 'TENUGUI-ASANOHA', '注染手ぬぐい 麻の葉', 0, 1.0000, 1000.0000, 1000.0000, 0.0000, 0.0000, 10.0000, 100.0000, 100.0000, 1000.0000, 1000.0000, 'simple', 1100.0000, 1100.0000, 1100.0000, 1100.0000),
  (9, 7, '2026-11-20 03:40:00', '2026-11-20 04:00:00', 101, 1, NULL, 0, 'UJI-MATCHA-100', '宇治抹茶 100g 缶', 0, 2.0000, 3000.0000, 3000.0000, 0.0000, 0.0000, 8.0000, 480.0000, 480.0000, 6000.0000, 6000.0000, 'simple', 3240.0000, 3240.0000, 6480.0000, 6480.0000),
  (10, 8, '2026-11-20 01:20:00', '2026-11-20 01:30:00', 107, 1, NULL, 0, 'HOJICHA-TB-20', 'ほうじ茶 ティーバッグ 20包', 0, 1.0000, 907.4074, 907.4074, 0.0000, 0.0000, 8.0000, 72.5926, 72.5926, 907.4074, 907.4074, 'simple', 980.0000, 980.0000, 980.0000, 980.0000),
  (11, 9, '2026-11-19 22:40:00', '2026-11-19 23:00:00', 104, 1, NULL, 0, 'GINJO-NOMIKURABE-3', '吟醸酒 飲み比べ 300ml×3本', 0, 2.0000, 3618.1818, 3618.1818, 0.0000, 0.0000, 10.0000, 723.6364, 723.6364, 7236.3636, 7236.3636, 'simple', 3980.0000, 3980.0000, 7960.0000, 7960.0000),
  (12, 10, '2026-11-20 02:45:00', '2026-11-20 03:00:00', 106, 1, NULL, 0, 'PRESAGE-LTD-2026', '機械式腕時計 限定モデル', 0, 1000.0000, 2254545.4545, 2254545.4545, 0.0000, 0.0000, 10.0000, 225454545.4545, 225454545.4545, 2254545454.5455, 2254545454.5455, 'simple', 2480000.0000, 2480000.0000, 2480000000.0000, 2480000000.0000),
  (13, 11, '2026-11-20 04:20:00', '2026-11-20 04:30:00', 103, 1, NULL, 0, 'TENUGUI-ASANOHA', '注染手ぬぐい 麻の葉', 0, 1.0000, 1000.0000, 1000.0000, 100.0000, 100.0000, 10.0000, 100.0000, 100.0000, 1000.0000, 1000.0000, 'simple', 1100.0000, 1100.0000, 1100.0000, 1100.0000),
  (14, 11, '2026-11-20 04:20:00', '2026-11-20 04:30:00', 107, 1, NULL, 0, 'HOJICHA-TB-20', 'ほうじ茶 ティーバッグ 20包', 0, 2.0000, 907.4074, 907.4074, 181.4800, 181.4800, 8.0000, 145.1852, 145.1852, 1814.8148, 1814.8148, 'simple', 980.0000, 980.0000, 1960.0000, 1960.0000),
  (15, 11, '2026-11-20 04:20:00', '2026-11-20 04:30:00', 101, 1, NULL, 0, 'UJI-MATCHA-100', '宇治抹茶 100g 缶', 0, 1.0000, 3000.0000, 3000.0000, 300.0000, 300.0000, 8.0000, 240.0000, 240.0000, 3000.0000, 3000.0000, 'simple', 3240.0000, 3240.0000, 3240.0000, 3240.0000),
  (16, 12, '2026-11-20 07:20:00', '2026-11-20 07:40:00', 102, 1, NULL, 0, 'HASAMI-PLATE-21', '波佐見焼 プレート 21cm', 0, 1.0000, 2000.0000, 2000.0000, 0.0000, 0.0000, 10.0000, 200.0000, 200.0000, 2000.0000, 2000.0000, 'simple', 2200.0000, 2200.0000, 2200.0000, 2200.0000),
  (17, 12, '2026-11-20 07:20:00', '2026-11-20 07:40:00', 107, 1, NULL, 0, 'HOJICHA-TB-20', 'ほうじ茶 ティーバッグ 20包', 0, 1.0000, 907.4074, 907.4074, 0.0000, 0.0000, 8.0000, 72.5926, 72.5926, 907.4074, 907.4074, 'simple', 980.0000, 980.0000, 980.0000, 980.0000),
  (18, 13, '2026-11-20 09:50:00', '2026-11-20 10:00:00', 104, 1, NULL, 0, 'GINJO-NOMIKURABE-3', '吟醸酒 飲み比べ 300ml×3本', 0, 1.0000, 3618.1818, 3618.1818, 0.0000, 0.0000, 10.0000, 361.8182, 361.8182, 3618.1818, 3618.1818, 'simple', 3980.0000, 3980.0000, 3980.0000, 3980.0000),
  (19, 14, '2026-10-15 10:40:00', '2026-10-15 11:00:00', 101, 1, NULL, 0, 'UJI-MATCHA-100', '宇治抹茶 100g 缶', 0, 1.0000, 3000.0000, 3000.0000, 0.0000, 0.0000, 8.0000, 240.0000, 240.0000, 3000.0000, 3000.0000, 'simple', 3240.0000, 3240.0000, 3240.0000, 3240.0000),
  (20, 15, '2026-11-20 11:20:00', '2026-11-20 11:30:00', 102, 1, NULL, 0, 'HASAMI-PLATE-21', '波佐見焼 プレート 21cm', 0, 1.0000, 2000.0000, 2000.0000, 0.0000, 0.0000, 10.0000, 200.0000, 200.0000, 2000.0000, 2000.0000, 'simple', 2200.0000, 2200.0000, 2200.0000, 2200.0000),
  (21, 16, '2026-11-20 00:10:00', '2026-11-20 00:30:00', 107, 1, NULL, 0, 'HOJICHA-TB-20', 'ほうじ茶 ティーバッグ 20包', 0, 3.0000, 907.4074, 907.4074, 0.0000, 0.0000, 8.0000, 217.7778, 217.7778, 2722.2222, 2722.2222, 'simple', 980.0000, 980.0000, 2940.0000, 2940.0000),
  (22, 17, '2026-11-20 09:30:00', '2026-11-20 09:45:00', 107, 1, NULL, 0, 'HOJICHA-TB-20', 'ほうじ茶 ティーバッグ 20包', 0, 3.0000, 907.4074, 907.4074, 0.0000, 0.0000, 8.0000, 217.7778, 217.7778, 2722.2222, 2722.2222, 'simple', 980.0000, 980.0000, 2940.0000, 2940.0000),
  (23, 18, '2026-11-20 07:45:00', '2026-11-20 08:00:00', 105, 1, NULL, 0, 'YUKATA-KON', '綿麻浴衣 紺 (サイズ M)', 0, 1.0000, 15000.0000, 15000.0000, 0.0000, 0.0000, 10.0000, 1500.0000, 1500.0000, 15000.0000, 15000.0000, 'configurable', 16500.0000, 16500.0000, 16500.0000, 16500.0000),
  (24, 18, '2026-11-20 07:45:00', '2026-11-20 08:00:00', 1105, 1, 23, 0, 'YUKATA-KON-M', '綿麻浴衣 紺 M', 0, 1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 'simple', NULL, NULL, NULL, NULL);
INSERT INTO quote_address (address_id, quote_id, created_at, updated_at, customer_id, address_type, email, firstname, lastname, street, city, region, postcode, country_id, telephone, same_as_billing, shipping_method, subtotal, shipping_amount, grand_total) VALUES
  (1, 1, '2026-11-20 08:41:00', '2026-11-20 09:00:00', 2, 'billing', 'yuto.shimizu@example.jp', '悠斗', '清水', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (2, 1, '2026-11-20 08:41:00', '2026-11-20 09:00:00', 2, 'shipping', 'yuto.shimizu@example.jp', '悠斗', '清水', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 7000.0000, 770.0000, 8410.0000),
  (3, 2, '2026-11-20 05:50:00', '2026-11-20 06:00:00', 3, 'billing', 'miho.ishikawa@example.jp', '美穂', '石川', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (4, 2, '2026-11-20 05:50:00', '2026-11-20 06:00:00', 3, 'shipping', 'miho.ishikawa@example.jp', '美穂', '石川', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 3618.1818, 770.0000, 4750.0000),
  (5, 3, '2026-11-20 01:30:00', '2026-11-20 02:00:00', 4, 'billing', 'ken.maeda@example.jp', '健', '前田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (6, 3, '2026-11-20 01:30:00', '2026-11-20 02:00:00', 4, 'shipping', 'ken.maeda@example.jp', '健', '前田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 3000.0000, 770.0000, 4070.0000),
  (7, 4, '2026-11-20 08:10:00', '2026-11-20 08:30:00', NULL, 'billing', 'sho.nishimura@example.com', '翔', '西村', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '09012340001', 0, NULL, 0.0000, 0.0000, 0.0000),
  (8, 4, '2026-11-20 08:10:00', '2026-11-20 08:30:00', NULL, 'shipping', 'sho.nishimura@example.com', '翔', '西村', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '09012340001', 1, 'flatrate_flatrate', 4814.8148, 770.0000, 5970.0000),
  (9, 5, '2026-11-20 07:00:00', '2026-11-20 07:15:00', NULL, 'billing', 'nanami.fukuda@example.net', '七海', '福田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '08012340002', 0, NULL, 0.0000, 0.0000, 0.0000),
  (10, 5, '2026-11-20 07:00:00', '2026-11-20 07:15:00', NULL, 'shipping', 'nanami.fukuda@example.net', '七海', '福田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '08012340002', 1, 'flatrate_flatrate', 2000.0000, 770.0000, 2970.0000),
  (11, 7, '2026-11-20 03:40:00', '2026-11-20 04:00:00', 1, 'billing', 'Haruka.Mori@Example.jp', '遥', '森', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (12, 7, '2026-11-20 03:40:00', '2026-11-20 04:00:00', 1, 'shipping', 'Haruka.Mori@Example.jp', '遥', '森', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 6000.0000, 770.0000, 7250.0000),
  (13, 8, '2026-11-20 01:20:00', '2026-11-20 01:30:00', NULL, 'billing', 'haruka.mori@example.jp', '遥', '森', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '07012340003', 0, NULL, 0.0000, 0.0000, 0.0000),
  (14, 8, '2026-11-20 01:20:00', '2026-11-20 01:30:00', NULL, 'shipping', 'haruka.mori@example.jp', '遥', '森', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '07012340003', 1, 'flatrate_flatrate', 907.4074, 770.0000, 1750.0000),
  (15, 9, '2026-11-19 22:40:00', '2026-11-19 23:00:00', 13, 'billing', 'kaito.ishii@example.jp', '海斗', '石井', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345679', 0, NULL, 0.0000, 0.0000, 0.0000),
  (16, 9, '2026-11-19 22:40:00', '2026-11-19 23:00:00', 13, 'shipping', 'kaito.ishii@example.jp', '海斗', '石井', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345679', 1, 'flatrate_flatrate', 7236.3636, 770.0000, 8730.0000),
  (17, 10, '2026-11-20 02:45:00', '2026-11-20 03:00:00', 7, 'billing', 'ryoko.hasegawa@example.jp', '涼子', '長谷川', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (18, 10, '2026-11-20 02:45:00', '2026-11-20 03:00:00', 7, 'shipping', 'ryoko.hasegawa@example.jp', '涼子', '長谷川', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 2254545454.5455, 770.0000, 2480000770.0000),
  (19, 11, '2026-11-20 04:20:00', '2026-11-20 04:30:00', 8, 'billing', 'ren.murakami@example.jp', '蓮', '村上', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (20, 11, '2026-11-20 04:20:00', '2026-11-20 04:30:00', 8, 'shipping', 'ren.murakami@example.jp', '蓮', '村上', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 5814.8148, 770.0000, 6488.5200),
  (21, 12, '2026-11-20 07:20:00', '2026-11-20 07:40:00', 9, 'billing', 'miwa.kondo@example.jp', '美和', '近藤', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (22, 12, '2026-11-20 07:20:00', '2026-11-20 07:40:00', 9, 'shipping', 'miwa.kondo@example.jp', '美和', '近藤', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 2907.4074, 770.0000, 3950.0000),
  (23, 13, '2026-11-20 09:50:00', '2026-11-20 10:00:00', 10, 'billing', 'yamato.sakamoto@example.jp', '大和', '坂本', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (24, 13, '2026-11-20 09:50:00', '2026-11-20 10:00:00', 10, 'shipping', 'yamato.sakamoto@example.jp', '大和', '坂本', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 3618.1818, 770.0000, 4750.0000),
  (25, 14, '2026-10-15 10:40:00', '2026-10-15 11:00:00', 11, 'billing', 'hana.endo@example.jp', '花', '遠藤', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (26, 14, '2026-10-15 10:40:00', '2026-10-15 11:00:00', 11, 'shipping', 'hana.endo@example.jp', '花', '遠藤', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 3000.0000, 770.0000, 4010.0000),
  (27, 15, '2026-11-20 11:20:00', '2026-11-20 11:30:00', 12, 'billing', 'tsubasa.aoki@example.jp', '翼', '青木', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (28, 15, '2026-11-20 11:20:00', '2026-11-20 11:30:00', 12, 'shipping', 'tsubasa.aoki@example.jp', '翼', '青木', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 2000.0000, 770.0000, 2970.0000),
  (29, 16, '2026-11-20 00:10:00', '2026-11-20 00:30:00', 5, 'billing', 'yui.fujita@example.jp', '結衣', '藤田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (30, 16, '2026-11-20 00:10:00', '2026-11-20 00:30:00', 5, 'shipping', 'yui.fujita@example.jp', '結衣', '藤田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 2722.2222, 770.0000, 3710.0000),
  (31, 17, '2026-11-20 09:30:00', '2026-11-20 09:45:00', NULL, 'billing', 'yui.fujita@example.jp', '結衣', '藤田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '09012340004', 0, NULL, 0.0000, 0.0000, 0.0000),
  (32, 17, '2026-11-20 09:30:00', '2026-11-20 09:45:00', NULL, 'shipping', 'yui.fujita@example.jp', '結衣', '藤田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '09012340004', 1, 'flatrate_flatrate', 2722.2222, 770.0000, 3710.0000),
  (33, 18, '2026-11-20 07:45:00', '2026-11-20 08:00:00', 6, 'billing', 'osamu.okada@example.jp', '修', '岡田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 0, NULL, 0.0000, 0.0000, 0.0000),
  (34, 18, '2026-11-20 07:45:00', '2026-11-20 08:00:00', 6, 'shipping', 'osamu.okada@example.jp', '修', '岡田', '丸の内1-9-1', '千代田区', '東京都', '100-0005', 'JP', '0312345678', 1, 'flatrate_flatrate', 15000.0000, 770.0000, 17270.0000);

INSERT INTO sales_order (entity_id, state, status, shipping_description, is_virtual, store_id, customer_id, base_discount_amount, base_grand_total, base_shipping_amount, base_subtotal, base_tax_amount, base_total_paid, discount_amount, grand_total, shipping_amount, subtotal, tax_amount, total_paid, total_qty_ordered, customer_is_guest, customer_note_notify, customer_group_id, quote_id, subtotal_incl_tax, increment_id, base_currency_code, customer_email, customer_firstname, customer_lastname, order_currency_code, shipping_method, store_currency_code, store_name, created_at, updated_at, total_item_count) VALUES
  (1, 'complete', 'complete', 'フラットレート - 固定', 0, 1, 2, 0.0000, 2970.0000, 770.0000, 2000.0000, 200.0000, 2970.0000, 0.0000, 2970.0000, 770.0000, 2000.0000, 200.0000, 2970.0000, 2.0000, 0, 1, 1, NULL, 2200.0000, '000000101', 'JPY', 'yuto.shimizu@example.jp', '悠斗', '清水', 'JPY', 'flatrate_flatrate', 'JPY', CONCAT('Main Website', CHAR(10), 'Main Website Store', CHAR(10), '日本語'), '2026-09-01 05:00:00', '2026-09-01 05:00:00', 1),
  (2, 'complete', 'complete', 'フラットレート - 固定', 0, 1, 7, 0.0000, 4010.0000, 770.0000, 3000.0000, 240.0000, 4010.0000, 0.0000, 4010.0000, 770.0000, 3000.0000, 240.0000, 4010.0000, 1.0000, 0, 1, 1, NULL, 3240.0000, '000000102', 'JPY', 'ryoko.hasegawa@example.jp', '涼子', '長谷川', 'JPY', 'flatrate_flatrate', 'JPY', CONCAT('Main Website', CHAR(10), 'Main Website Store', CHAR(10), '日本語'), '2026-10-20 12:30:00', '2026-10-20 12:30:00', 1),
  (3, 'complete', 'complete', 'フラットレート - 固定', 0, 1, NULL, 0.0000, 4750.0000, 770.0000, 3618.1818, 361.8182, 4750.0000, 0.0000, 4750.0000, 770.0000, 3618.1818, 361.8182, 4750.0000, 1.0000, 0, 1, 1, NULL, 3980.0000, '000000103', 'JPY', 'kaito.ishii@example.jp', '海斗', '石井', 'JPY', 'flatrate_flatrate', 'JPY', CONCAT('Main Website', CHAR(10), 'Main Website Store', CHAR(10), '日本語'), '2026-08-08 08:08:00', '2026-08-08 08:08:00', 1),
  (4, 'closed', 'closed', 'フラットレート - 固定', 0, 1, NULL, 0.0000, 1750.0000, 770.0000, 907.4074, 72.5926, 1750.0000, 0.0000, 1750.0000, 770.0000, 907.4074, 72.5926, 1750.0000, 1.0000, 1, 1, 0, NULL, 980.0000, '000000104', 'JPY', 'sho.nishimura@example.com', '翔', '西村', 'JPY', 'flatrate_flatrate', 'JPY', CONCAT('Main Website', CHAR(10), 'Main Website Store', CHAR(10), '日本語'), '2026-10-30 11:00:00', '2026-10-30 11:00:00', 1),
  (5, 'canceled', 'canceled', 'フラットレート - 固定', 0, 1, 9, 0.0000, 3950.0000, 770.0000, 2907.4074, 272.5926, 0.0000, 0.0000, 3950.0000, 770.0000, 2907.4074, 272.5926, 0.0000, 2.0000, 0, 1, 1, 12, 3180.0000, '000000105', 'JPY', 'miwa.kondo@example.jp', '美和', '近藤', 'JPY', 'flatrate_flatrate', 'JPY', CONCAT('Main Website', CHAR(10), 'Main Website Store', CHAR(10), '日本語'), '2026-11-20 07:38:00', '2026-11-20 07:38:00', 2),
  (6, 'processing', 'processing', 'フラットレート - 固定', 0, 1, 10, 0.0000, 4750.0000, 770.0000, 3618.1818, 361.8182, 4750.0000, 0.0000, 4750.0000, 770.0000, 3618.1818, 361.8182, 4750.0000, 1.0000, 0, 1, 1, 13, 3980.0000, '000000106', 'JPY', 'yamato.sakamoto@example.jp', '大和', '坂本', 'JPY', 'flatrate_flatrate', 'JPY', CONCAT('Main Website', CHAR(10), 'Main Website Store', CHAR(10), '日本語'), '2026-11-20 10:00:00', '2026-11-20 10:00:00', 1),
  (7, 'new', 'pending', 'フラットレート - 固定', 0, 1, NULL, 0.0000, 3710.0000, 770.0000, 2722.2222, 217.7778, 0.0000, 0.0000, 3710.0000, 770.0000, 2722.2222, 217.7778, 0.0000, 3.0000, 1, 1, 0, 17, 2940.0000, '000000107', 'JPY', 'yui.fujita@example.jp', '結衣', '藤田', 'JPY', 'flatrate_flatrate', 'JPY', CONCAT('Main Website', CHAR(10), 'Main Website Store', CHAR(10), '日本語'), '2026-11-20 09:45:00', '2026-11-20 09:45:00', 1);
INSERT INTO sales_order_item (item_id, order_id, parent_item_id, quote_item_id, store_id, created_at, updated_at, product_id, product_type, sku, name, qty_ordered, price, base_price, original_price, tax_percent, tax_amount, row_total, base_row_total, price_incl_tax, row_total_incl_tax) VALUES
  (1, 1, NULL, NULL, 1, '2026-09-01 05:00:00', '2026-09-01 05:00:00', 103, 'simple', 'TENUGUI-ASANOHA', '注染手ぬぐい 麻の葉', 2.0000, 1000.0000, 1000.0000, 1000.0000, 10.0000, 200.0000, 2000.0000, 2000.0000, 1100.0000, 2200.0000),
  (2, 2, NULL, NULL, 1, '2026-10-20 12:30:00', '2026-10-20 12:30:00', 101, 'simple', 'UJI-MATCHA-100', '宇治抹茶 100g 缶', 1.0000, 3000.0000, 3000.0000, 3000.0000, 8.0000, 240.0000, 3000.0000, 3000.0000, 3240.0000, 3240.0000),
  (3, 3, NULL, NULL, 1, '2026-08-08 08:08:00', '2026-08-08 08:08:00', 104, 'simple', 'GINJO-NOMIKURABE-3', '吟醸酒 飲み比べ 300ml×3本', 1.0000, 3618.1818, 3618.1818, 3618.1818, 10.0000, 361.8182, 3618.1818, 3618.1818, 3980.0000, 3980.0000),
  (4, 4, NULL, NULL, 1, '2026-10-30 11:00:00', '2026-10-30 11:00:00', 107, 'simple', 'HOJICHA-TB-20', 'ほうじ茶 ティーバッグ 20包', 1.0000, 907.4074, 907.4074, 907.4074, 8.0000, 72.5926, 907.4074, 907.4074, 980.0000, 980.0000),
  (5, 5, NULL, 16, 1, '2026-11-20 07:38:00', '2026-11-20 07:38:00', 102, 'simple', 'HASAMI-PLATE-21', '波佐見焼 プレート 21cm', 1.0000, 2000.0000, 2000.0000, 2000.0000, 10.0000, 200.0000, 2000.0000, 2000.0000, 2200.0000, 2200.0000),
  (6, 5, NULL, 17, 1, '2026-11-20 07:38:00', '2026-11-20 07:38:00', 107, 'simple', 'HOJICHA-TB-20', 'ほうじ茶 ティーバッグ 20包', 1.0000, 907.4074, 907.4074, 907.4074, 8.0000, 72.5926, 907.4074, 907.4074, 980.0000, 980.0000),
  (7, 6, NULL, 18, 1, '2026-11-20 10:00:00', '2026-11-20 10:00:00', 104, 'simple', 'GINJO-NOMIKURABE-3', '吟醸酒 飲み比べ 300ml×3本', 1.0000, 3618.1818, 3618.1818, 3618.1818, 10.0000, 361.8182, 3618.1818, 3618.1818, 3980.0000, 3980.0000),
  (8, 7, NULL, 22, 1, '2026-11-20 09:45:00', '2026-11-20 09:45:00', 107, 'simple', 'HOJICHA-TB-20', 'ほうじ茶 ティーバッグ 20包', 3.0000, 907.4074, 907.4074, 907.4074, 8.0000, 217.7778, 2722.2222, 2722.2222, 980.0000, 2940.0000);
