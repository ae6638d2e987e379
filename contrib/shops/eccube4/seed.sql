-- EC-CUBE 4 seed for cartnudge's tests: 信州りんご工房, a small Japanese shop (JPY, 内税 display).
-- Load after schema.postgresql.sql (tests/real_shops.py::load_shop does both).
--
-- Reference time: 2026-11-20 21:00 JST (= 2026-11-20 12:00 UTC); a test runs
-- `cartnudge sweep --now 2026-11-20T21:00:00+09:00`. All times below are written in JST with
-- their offset; the columns are timestamptz, so they are instants (EC-CUBE itself writes UTC).
-- Ages are given relative to the reference time.
--
-- Abandoned by EC-CUBE's own definition (dtb_order.order_status_id = 8 購入処理中):
--   order  4  member 加藤 (10)      2026-10-15 20:10  36 days: past any cart validity
--   order  5  member 山本 (7)       2026-11-19 20:00  25h; her cart was emptied, then she bought
--                                                    a new cart as order 17 at 19:40 today
--   order  6  member 伊藤 (5)       2026-11-19 22:00  23h; she withdrew at 08:00 today
--                                                    (status 退会, e-mail replaced by a dummy)
--   order  7  guest 木村            09:00  12h; she bought as a guest again (order 9, 10:15)
--   order  8  member 高橋 (3)       09:00  12h; plg_mailmagazine_flg NULL
--   order 10  guest 渡辺            10:30  10.5h; daisuke.watanabe@example.jp, the member
--                                                    渡辺 (6) is Daisuke.Watanabe@Example.jp
--   order 11  member 小林 (9)       11:00  10h; 9,999 × 輪島塗 重箱 = 2,419,758,000 yen (≥ 2^31)
--   order 12  member 鈴木 (2)       12:30  8.5h; no consent (plg_mailmagazine_flg 0)
--   order 13  member 山田 (12)      15:00  6h; consent; coupon discount, 代金引換 charge
--   order 14  member 渡辺 (6)       16:00  5h
--   order 15  guest 松本            18:00  3h
--   order 18  member 吉田 (11)      20:30  30 minutes: not due yet under any 1h+ delay
-- Not abandoned by that definition but worth a look:
--   order 16  guest 井上, status 7 決済処理中 (stuck at the card payment page since 19:00)
--   carts without an order (never opened the purchase screen): member 佐藤 (1) 18:00,
--     member 中村 (8) 13:00, and an anonymous guest cart 16:15 (no e-mail anywhere)
-- Completed: 1 (佐藤, 発送済み, 2026-10-02), 2 (鈴木, 発送済み, 2026-09-10), 9 (guest 木村, 入金済み,
-- 10:15 today), 17 (山本, 新規受付, 19:40 today); cancelled: 3 (山田, 注文取消し, 2026-11-01).
-- Customers: 12 (1 仮会員 田中 (4) without orders, 1 退会, 10 本会員).
-- Amounts are whole yen in NUMERIC(12,2), as EC-CUBE stores JPY (price02 without tax; cart
-- item prices and order subtotals with tax; 8% foods, 10% others, 四捨五入 rounding).
--
-- Written once with a throwaway script and checked by hand; edit this SQL directly.

-- Products: one class (規格なし) each, sale type 1, stock unlimited. price02 is without tax;
-- tax rates: 8% (軽減税率: foods) or 10%.
INSERT INTO dtb_product (id, product_status_id, name, description_list, create_date, update_date, discriminator_type) VALUES
  (1, 1, '信州りんごジュース 1L×6本', NULL, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'product'),
  (2, 1, 'りんごバター 2個セット', NULL, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'product'),
  (3, 1, '有田焼 マグカップ 藍', NULL, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'product'),
  (4, 1, '今治タオル フェイスタオル 3枚組', NULL, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'product'),
  (5, 1, '南部鉄器 急須 0.65L', NULL, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'product'),
  (6, 1, '純米大吟醸 信濃の雫 720ml', NULL, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'product'),
  (7, 1, '輪島塗 三段重箱', NULL, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'product'),
  (8, 1, 'ふじりんご 家庭用 5kg', NULL, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'product');
INSERT INTO dtb_product_class (id, product_id, sale_type_id, product_code, stock, stock_unlimited, price01, price02, visible, create_date, update_date, currency_code, discriminator_type) VALUES
  (1, 1, 1, 'APL-JUICE-6', NULL, true, NULL, 3240.00, true, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'JPY', 'productclass'),
  (2, 2, 1, 'APL-BTR-2', NULL, true, NULL, 1800.00, true, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'JPY', 'productclass'),
  (3, 3, 1, 'ARITA-MUG', NULL, true, NULL, 2800.00, true, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'JPY', 'productclass'),
  (4, 4, 1, 'IMB-FT-3', NULL, true, NULL, 2400.00, true, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'JPY', 'productclass'),
  (5, 5, 1, 'NNB-KYU-065', NULL, true, NULL, 12000.00, true, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'JPY', 'productclass'),
  (6, 6, 1, 'SAKE-SZK-720', NULL, true, NULL, 4500.00, true, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'JPY', 'productclass'),
  (7, 7, 1, 'WJM-JUB-3', NULL, true, NULL, 220000.00, true, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'JPY', 'productclass'),
  (8, 8, 1, 'APL-FUJI-5', NULL, true, NULL, 3980.00, true, '2026-04-01 10:00:00+09', '2026-04-01 10:00:00+09', 'JPY', 'productclass');

INSERT INTO dtb_customer (id, customer_status_id, pref_id, name01, name02, kana01, kana02, postal_code, addr01, addr02, email, phone_number, password, salt, secret_key, first_buy_date, last_buy_date, buy_times, buy_total, point, create_date, update_date, discriminator_type, plg_mailmagazine_flg) VALUES
  (1, 2, 13, '佐藤', '美咲', 'サトウ', 'ミサキ', '1540017', '世田谷区世田谷4-21-27', NULL, 'misaki.sato@example.jp', '09012345678', '02c593fd9af8254b859d426a76b6cd42847fbec1', 'bdb534d88e', '00cafd126182e8a9e7c01bb2f0dfd004', '2026-10-02 20:05:00+09', '2026-10-02 20:05:00+09', 1, 8904.00, 0, '2024-04-12 10:15:00+09', '2024-04-12 10:15:00+09', 'customer', 1),
  (2, 2, 27, '鈴木', '健太', 'スズキ', 'ケンタ', '5300001', '大阪市北区梅田1-1-3', '大阪駅前第3ビル 12F', 'kenta.suzuki@example.ne.jp', '0661234567', 'f16ca2dfa3688bf08c7a4e21544af15bd598cb70', '6baa5061cd', 'c636e8e238fd7af97e2e500f8c6f0f4c', '2026-09-10 22:14:00+09', '2026-09-10 22:14:00+09', 1, 6080.00, 0, '2023-08-30 21:02:00+09', '2023-08-30 21:02:00+09', 'customer', 0),
  (3, 2, 23, '高橋', '陽子', 'タカハシ', 'ヨウコ', '4600008', '名古屋市中区栄3-5-12', NULL, 'yoko.takahashi@example.com', '08023456789', '67fab92a16d6246960fc2d976e22c426730a2abf', '27b1e31486', '418ee516f1cb095c50ff2f10a7619288', NULL, NULL, 0, 0.00, 0, '2022-01-05 09:40:00+09', '2022-01-05 09:40:00+09', 'customer', NULL),
  (4, 1, 40, '田中', '翔太', 'タナカ', 'ショウタ', '8100001', '福岡市中央区天神2-11-1', NULL, 'shota.tanaka@example.jp', '07034567890', 'ab136697f8f6577d82e3cd5077effd5d23b199fa', '31141215a2', '3982c799d1c4f3ae3190ad4e09248585', NULL, NULL, 0, 0.00, 0, '2026-11-20 13:05:00+09', '2026-11-20 13:05:00+09', 'customer', 1),
  (5, 3, 1, '伊藤', 'さくら', 'イトウ', 'サクラ', '0600001', '札幌市中央区北一条西2-1', NULL, 'Qm7vT2xKp9LrWs4ZbN8cYh3JdFg6AeU1oXi5Ml0VtRnBq2Hw7Ks9Pz4Cj8Ey6D@dummy.dummy', '09045678901', '0d03aee276a662179cc2671580ce7496b297c80b', '0c2c86232d', '08175ec631c367891f55c615fb8d710a', NULL, NULL, 0, 0.00, 0, '2025-02-14 18:22:00+09', '2026-11-20 08:00:00+09', 'customer', 1),
  (6, 2, 14, '渡辺', '大輔', 'ワタナベ', 'ダイスケ', '2200012', '横浜市西区みなとみらい2-3-1', 'クイーンズタワーA 8F', 'Daisuke.Watanabe@Example.jp', '0451234567', '5f7ad8780fc1a50514ac4ba16707c69e29974609', '4e9da61d3f', '35220aafee5930c28509ab4777e4261a', NULL, NULL, 0, 0.00, 0, '2024-11-03 12:00:00+09', '2024-11-03 12:00:00+09', 'customer', 1),
  (7, 2, 26, '山本', '恵', 'ヤマモト', 'メグミ', '6048006', '京都市中京区河原町通四条上る米屋町', NULL, 'megumi.yamamoto@example.jp', '0752345678', '132ecca866a3653a4e131ca77a59ac38c6bcb0c7', '9c6de10b9a', '1202bec4be58b511dc6742cd188ddac7', '2026-11-20 19:40:00+09', '2026-11-20 19:40:00+09', 1, 10131.00, 0, '2021-06-18 07:55:00+09', '2021-06-18 07:55:00+09', 'customer', 1),
  (8, 2, 11, '中村', '拓也', 'ナカムラ', 'タクヤ', '3300063', 'さいたま市浦和区高砂3-15-1', NULL, 'takuya.nakamura@example.jp', '08056789012', 'd21d03a6d1baedad7f7842a8bd0b8e49fcb17b7a', 'd3ddf00323', '3d4b1eb1242d72e794baa62585277057', NULL, NULL, 0, 0.00, 0, '2025-09-09 22:31:00+09', '2025-09-09 22:31:00+09', 'customer', 1),
  (9, 2, 28, '小林', '由美', 'コバヤシ', 'ユミ', '6500001', '神戸市中央区加納町6-5-1', NULL, 'yumi.kobayashi@example.co.jp', '0783456789', '485650df0d1c6361e5907094c238ed6cf5a8f9df', 'd171c7735b', '41574b291496c0666b841d7e1609108d', NULL, NULL, 0, 0.00, 0, '2020-03-27 15:10:00+09', '2020-03-27 15:10:00+09', 'customer', 1),
  (10, 2, 12, '加藤', '直人', 'カトウ', 'ナオト', '2608722', '千葉市中央区市場町1-1', NULL, 'naoto.kato@example.jp', '0432123456', 'ea274f41796d994c513bbd71c4a524522c4cd047', 'ac19b20e37', '6d48177594b1db78e1684ac2118dc7ea', NULL, NULL, 0, 0.00, 0, '2023-12-01 08:00:00+09', '2023-12-01 08:00:00+09', 'customer', 1),
  (11, 2, 34, '吉田', '真由美', 'ヨシダ', 'マユミ', '7308586', '広島市中区基町10-52', NULL, 'mayumi.yoshida@example.jp', '08067890123', '2173b9f9fcc9642cbb793be3bbf07ccdf960ecff', 'f94f9ad203', '80cb0f9f28257dcb6f32b51cfe8c0c95', NULL, NULL, 0, 0.00, 0, '2026-05-05 05:05:00+09', '2026-05-05 05:05:00+09', 'customer', 1),
  (12, 2, 4, '山田', '一郎', 'ヤマダ', 'イチロウ', '9808570', '仙台市青葉区本町3-8-1', NULL, 'ichiro.yamada@example.jp', '0222111111', '4814d2b83d22c905ec568d3e7e9d978255da559a', '646b05ef31', 'e9424e7e2a8860a0d3198a794e94222d', NULL, NULL, 0, 0.00, 0, '2019-10-10 10:10:00+09', '2019-10-10 10:10:00+09', 'customer', 1);

INSERT INTO dtb_order (id, customer_id, pref_id, device_type_id, order_status_id, pre_order_id, order_no, name01, name02, kana01, kana02, email, phone_number, postal_code, addr01, addr02, subtotal, discount, delivery_fee_total, charge, tax, total, payment_total, payment_method, create_date, update_date, order_date, payment_date, currency_code, add_point, use_point, discriminator_type) VALUES
  (1, 1, 13, 10, 5, 'd64bedcf48cc44bede505003a8cd0e6fb9d4886b', '1', '佐藤', '美咲', 'サトウ', 'ミサキ', 'misaki.sato@example.jp', '09012345678', '1540017', '世田谷区世田谷4-21-27', NULL, 8104.00, 0.00, 800.00, 0.00, 777.00, 8904.00, 8904.00, 'クレジットカード', '2026-10-02 19:58:00+09', '2026-10-04 10:00:00+09', '2026-10-02 20:05:00+09', NULL, 'JPY', 0, 0, 'order'),
  (2, 2, 27, 2, 5, '36608c94757eec10f2b819c37e1c5a28c68b9b8d', '2', '鈴木', '健太', 'スズキ', 'ケンタ', 'kenta.suzuki@example.ne.jp', '0661234567', '5300001', '大阪市北区梅田1-1-3', '大阪駅前第3ビル 12F', 4950.00, 0.00, 800.00, 330.00, 553.00, 6080.00, 6080.00, '代金引換', '2026-09-10 22:10:00+09', '2026-09-12 09:00:00+09', '2026-09-10 22:14:00+09', NULL, 'JPY', 0, 0, 'order'),
  (3, 12, 4, 10, 3, '6ea75e7fe5c76794e1f197e73bf70d2a5685098d', '3', '山田', '一郎', 'ヤマダ', 'イチロウ', 'ichiro.yamada@example.jp', '0222111111', '9808570', '仙台市青葉区本町3-8-1', NULL, 13200.00, 0.00, 800.00, 0.00, 1273.00, 14000.00, 14000.00, '銀行振込', '2026-11-01 08:40:00+09', '2026-11-01 12:00:00+09', '2026-11-01 08:43:00+09', NULL, 'JPY', 0, 0, 'order'),
  (4, 10, 12, 10, 8, '0522a600000a2a9b7d5892c8ab45d1e3670b94c3', '4', '加藤', '直人', 'カトウ', 'ナオト', 'naoto.kato@example.jp', '0432123456', '2608722', '千葉市中央区市場町1-1', NULL, 3080.00, 0.00, 800.00, 0.00, 353.00, 3880.00, 3880.00, 'クレジットカード', '2026-10-15 19:52:00+09', '2026-10-15 20:10:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (5, 7, 26, 2, 8, '1e8a4e8b60d2e3e8bf354aa84554225e2a5e3b06', '5', '山本', '恵', 'ヤマモト', 'メグミ', 'megumi.yamamoto@example.jp', '0752345678', '6048006', '京都市中京区河原町通四条上る米屋町', NULL, 5832.00, 0.00, 800.00, 0.00, 505.00, 6632.00, 6632.00, 'クレジットカード', '2026-11-19 19:41:00+09', '2026-11-19 20:00:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (6, 5, 1, 2, 8, '5dfa620aa065da0b084d05f7c5516b506b6612aa', '6', '伊藤', 'さくら', 'イトウ', 'サクラ', 'sakura.ito@example.jp', '09045678901', '0600001', '札幌市中央区北一条西2-1', NULL, 5280.00, 0.00, 800.00, 0.00, 553.00, 6080.00, 6080.00, 'クレジットカード', '2026-11-19 21:48:00+09', '2026-11-19 22:00:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (7, NULL, 17, 2, 8, '4a573018b5ed9a59a704b49f5ef976fa0d8d385c', '7', '木村', '愛', 'キムラ', 'アイ', 'ai.kimura@example.jp', '09044445555', '9208580', '金沢市広坂1-1-1', NULL, 4298.00, 0.00, 800.00, 0.00, 391.00, 5098.00, 5098.00, 'クレジットカード', '2026-11-20 08:51:00+09', '2026-11-20 09:00:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (8, 3, 23, 10, 8, '364dc133ca4d306dc9eba503499e39e396e957b0', '8', '高橋', '陽子', 'タカハシ', 'ヨウコ', 'yoko.takahashi@example.com', '08023456789', '4600008', '名古屋市中区栄3-5-12', NULL, 9900.00, 0.00, 800.00, 0.00, 973.00, 10700.00, 10700.00, 'クレジットカード', '2026-11-20 08:47:00+09', '2026-11-20 09:00:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (9, NULL, 17, 10, 6, '4e21e79c0322b17fe3f1873b9b5ed7e2ad2ef478', '9', '木村', '愛', 'キムラ', 'アイ', 'ai.kimura@example.jp', '09044445555', '9208580', '金沢市広坂1-1-1', NULL, 6242.00, 0.00, 800.00, 0.00, 535.00, 7042.00, 7042.00, 'クレジットカード', '2026-11-20 10:02:00+09', '2026-11-20 10:20:00+09', '2026-11-20 10:15:00+09', '2026-11-20 10:15:00+09', 'JPY', 0, 0, 'order'),
  (10, NULL, 14, 2, 8, '6c9e5725a332ed65dd3480809130efa0f7a8b78e', '10', '渡辺', '大輔', 'ワタナベ', 'ダイスケ', 'daisuke.watanabe@example.jp', '09011112222', '2200012', '横浜市西区みなとみらい2-3-1', NULL, 8596.00, 0.00, 800.00, 330.00, 739.00, 9726.00, 9726.00, '代金引換', '2026-11-20 10:21:00+09', '2026-11-20 10:30:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (11, 9, 28, 10, 8, '0f7c31c4e364301c6d90efedba6274d719d70da7', '11', '小林', '由美', 'コバヤシ', 'ユミ', 'yumi.kobayashi@example.co.jp', '0783456789', '6500001', '神戸市中央区加納町6-5-1', NULL, 2419758000.00, 0.00, 0.00, 0.00, 219978000.00, 2419758000.00, 2419758000.00, '銀行振込', '2026-11-20 10:49:00+09', '2026-11-20 11:00:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (12, 2, 27, 10, 8, '943694c7c9e0170cfcde9c27fcbd5ab8dbb620d8', '12', '鈴木', '健太', 'スズキ', 'ケンタ', 'kenta.suzuki@example.ne.jp', '0661234567', '5300001', '大阪市北区梅田1-1-3', '大阪駅前第3ビル 12F', 13200.00, 0.00, 800.00, 0.00, 1273.00, 14000.00, 14000.00, 'クレジットカード', '2026-11-20 12:02:00+09', '2026-11-20 12:30:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (13, 12, 4, 10, 8, 'c2c36de4914a348aba83cfab582e1d9c1caad400', '13', '山田', '一郎', 'ヤマダ', 'イチロウ', 'ichiro.yamada@example.jp', '0222111111', '9808570', '仙台市青葉区本町3-8-1', NULL, 9659.00, 500.00, 800.00, 330.00, 877.00, 10289.00, 10289.00, '代金引換', '2026-11-20 14:52:00+09', '2026-11-20 15:00:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (14, 6, 14, 10, 8, '8b15e25600c38788b50f426ca38909105da2cb80', '14', '渡辺', '大輔', 'ワタナベ', 'ダイスケ', 'Daisuke.Watanabe@Example.jp', '0451234567', '2200012', '横浜市西区みなとみらい2-3-1', 'クイーンズタワーA 8F', 4298.00, 0.00, 800.00, 0.00, 391.00, 5098.00, 5098.00, 'クレジットカード', '2026-11-20 15:47:00+09', '2026-11-20 16:00:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (15, NULL, 13, 2, 8, '55786c62193bf12a65318a9eabcdef8959ebba6f', '15', '松本', '彩', 'マツモト', 'アヤ', 'aya.matsumoto@example.com', '08022223333', '1500002', '渋谷区渋谷2-24-12', NULL, 6998.00, 0.00, 800.00, 0.00, 591.00, 7798.00, 7798.00, 'クレジットカード', '2026-11-20 17:38:00+09', '2026-11-20 18:00:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (16, NULL, 22, 10, 7, '881b7883d79bd73f22188fbac25adbfc92c730d2', '16', '井上', '隼', 'イノウエ', 'シュン', 'shun.inoue@example.net', '07033334444', '4200853', '静岡市葵区追手町9-6', NULL, 13200.00, 0.00, 800.00, 0.00, 1273.00, 14000.00, 14000.00, 'クレジットカード', '2026-11-20 18:51:00+09', '2026-11-20 19:00:00+09', NULL, NULL, 'JPY', 0, 0, 'order'),
  (17, 7, 26, 2, 1, '7f93ed0738d189559dd5a9dbd497e6a3c69b38f1', '17', '山本', '恵', 'ヤマモト', 'メグミ', 'megumi.yamamoto@example.jp', '0752345678', '6048006', '京都市中京区河原町通四条上る米屋町', NULL, 9331.00, 0.00, 800.00, 0.00, 764.00, 10131.00, 10131.00, 'クレジットカード', '2026-11-20 19:31:00+09', '2026-11-20 19:40:00+09', '2026-11-20 19:40:00+09', NULL, 'JPY', 0, 0, 'order'),
  (18, 11, 34, 2, 8, 'b1e4aa9899a7e88b10737afb396ec5a9b60fadd2', '18', '吉田', '真由美', 'ヨシダ', 'マユミ', 'mayumi.yoshida@example.jp', '08067890123', '7308586', '広島市中区基町10-52', NULL, 5280.00, 0.00, 800.00, 0.00, 553.00, 6080.00, 6080.00, 'クレジットカード', '2026-11-20 20:21:00+09', '2026-11-20 20:30:00+09', NULL, NULL, 'JPY', 0, 0, 'order');
INSERT INTO dtb_shipping (id, order_id, pref_id, name01, name02, kana01, kana02, phone_number, postal_code, addr01, addr02, delivery_name, create_date, update_date, discriminator_type) VALUES
  (1, 1, 13, '佐藤', '美咲', 'サトウ', 'ミサキ', '09012345678', '1540017', '世田谷区世田谷4-21-27', NULL, 'サンプル宅配便', '2026-10-02 19:58:00+09', '2026-10-04 10:00:00+09', 'shipping'),
  (2, 2, 27, '鈴木', '健太', 'スズキ', 'ケンタ', '0661234567', '5300001', '大阪市北区梅田1-1-3', '大阪駅前第3ビル 12F', 'サンプル宅配便', '2026-09-10 22:10:00+09', '2026-09-12 09:00:00+09', 'shipping'),
  (3, 3, 4, '山田', '一郎', 'ヤマダ', 'イチロウ', '0222111111', '9808570', '仙台市青葉区本町3-8-1', NULL, 'サンプル宅配便', '2026-11-01 08:40:00+09', '2026-11-01 12:00:00+09', 'shipping'),
  (4, 4, 12, '加藤', '直人', 'カトウ', 'ナオト', '0432123456', '2608722', '千葉市中央区市場町1-1', NULL, 'サンプル宅配便', '2026-10-15 19:52:00+09', '2026-10-15 20:10:00+09', 'shipping'),
  (5, 5, 26, '山本', '恵', 'ヤマモト', 'メグミ', '0752345678', '6048006', '京都市中京区河原町通四条上る米屋町', NULL, 'サンプル宅配便', '2026-11-19 19:41:00+09', '2026-11-19 20:00:00+09', 'shipping'),
  (6, 6, 1, '伊藤', 'さくら', 'イトウ', 'サクラ', '09045678901', '0600001', '札幌市中央区北一条西2-1', NULL, 'サンプル宅配便', '2026-11-19 21:48:00+09', '2026-11-19 22:00:00+09', 'shipping'),
  (7, 7, 17, '木村', '愛', 'キムラ', 'アイ', '09044445555', '9208580', '金沢市広坂1-1-1', NULL, 'サンプル宅配便', '2026-11-20 08:51:00+09', '2026-11-20 09:00:00+09', 'shipping'),
  (8, 8, 23, '高橋', '陽子', 'タカハシ', 'ヨウコ', '08023456789', '4600008', '名古屋市中区栄3-5-12', NULL, 'サンプル宅配便', '2026-11-20 08:47:00+09', '2026-11-20 09:00:00+09', 'shipping'),
  (9, 9, 17, '木村', '愛', 'キムラ', 'アイ', '09044445555', '9208580', '金沢市広坂1-1-1', NULL, 'サンプル宅配便', '2026-11-20 10:02:00+09', '2026-11-20 10:20:00+09', 'shipping'),
  (10, 10, 14, '渡辺', '大輔', 'ワタナベ', 'ダイスケ', '09011112222', '2200012', '横浜市西区みなとみらい2-3-1', NULL, 'サンプル宅配便', '2026-11-20 10:21:00+09', '2026-11-20 10:30:00+09', 'shipping'),
  (11, 11, 28, '小林', '由美', 'コバヤシ', 'ユミ', '0783456789', '6500001', '神戸市中央区加納町6-5-1', NULL, 'サンプル宅配便', '2026-11-20 10:49:00+09', '2026-11-20 11:00:00+09', 'shipping'),
  (12, 12, 27, '鈴木', '健太', 'スズキ', 'ケンタ', '0661234567', '5300001', '大阪市北区梅田1-1-3', '大阪駅前第3ビル 12F', 'サンプル宅配便', '2026-11-20 12:02:00+09', '2026-11-20 12:30:00+09', 'shipping'),
  (13, 13, 4, '山田', '一郎', 'ヤマダ', 'イチロウ', '0222111111', '9808570', '仙台市青葉区本町3-8-1', NULL, 'サンプル宅配便', '2026-11-20 14:52:00+09', '2026-11-20 15:00:00+09', 'shipping'),
  (14, 14, 14, '渡辺', '大輔', 'ワタナベ', 'ダイスケ', '0451234567', '2200012', '横浜市西区みなとみらい2-3-1', 'クイーンズタワーA 8F', 'サンプル宅配便', '2026-11-20 15:47:00+09', '2026-11-20 16:00:00+09', 'shipping'),
  (15, 15, 13, '松本', '彩', 'マツモト', 'アヤ', '08022223333', '1500002', '渋谷区渋谷2-24-12', NULL, 'サンプル宅配便', '2026-11-20 17:38:00+09', '2026-11-20 18:00:00+09', 'shipping'),
  (16, 16, 22, '井上', '隼', 'イノウエ', 'シュン', '07033334444', '4200853', '静岡市葵区追手町9-6', NULL, 'サンプル宅配便', '2026-11-20 18:51:00+09', '2026-11-20 19:00:00+09', 'shipping'),
  (17, 17, 26, '山本', '恵', 'ヤマモト', 'メグミ', '0752345678', '6048006', '京都市中京区河原町通四条上る米屋町', NULL, 'サンプル宅配便', '2026-11-20 19:31:00+09', '2026-11-20 19:40:00+09', 'shipping'),
  (18, 18, 34, '吉田', '真由美', 'ヨシダ', 'マユミ', '08067890123', '7308586', '広島市中区基町10-52', NULL, 'サンプル宅配便', '2026-11-20 20:21:00+09', '2026-11-20 20:30:00+09', 'shipping');
INSERT INTO dtb_order_item (id, order_id, product_id, product_class_id, shipping_id, tax_display_type_id, order_item_type_id, product_name, product_code, price, quantity, tax, tax_rate, tax_adjust, currency_code, discriminator_type) VALUES
  (1, 1, 3, 3, 1, 1, 1, '有田焼 マグカップ 藍', 'ARITA-MUG', 2800.00, 2, 280, 10, 0, 'JPY', 'product'),
  (2, 1, 2, 2, 1, 1, 1, 'りんごバター 2個セット', 'APL-BTR-2', 1800.00, 1, 144, 8, 0, 'JPY', 'product'),
  (3, 1, NULL, NULL, 1, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (4, 2, 6, 6, 2, 1, 1, '純米大吟醸 信濃の雫 720ml', 'SAKE-SZK-720', 4500.00, 1, 450, 10, 0, 'JPY', 'product'),
  (5, 2, NULL, NULL, 2, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (6, 2, NULL, NULL, NULL, 2, 3, '手数料', NULL, 330.00, 1, 30, 10, 0, 'JPY', 'orderitem'),
  (7, 3, 5, 5, 3, 1, 1, '南部鉄器 急須 0.65L', 'NNB-KYU-065', 12000.00, 1, 1200, 10, 0, 'JPY', 'product'),
  (8, 3, NULL, NULL, 3, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (9, 4, 3, 3, 4, 1, 1, '有田焼 マグカップ 藍', 'ARITA-MUG', 2800.00, 1, 280, 10, 0, 'JPY', 'product'),
  (10, 4, NULL, NULL, 4, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (11, 5, 2, 2, 5, 1, 1, 'りんごバター 2個セット', 'APL-BTR-2', 1800.00, 3, 144, 8, 0, 'JPY', 'product'),
  (12, 5, NULL, NULL, 5, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (13, 6, 4, 4, 6, 1, 1, '今治タオル フェイスタオル 3枚組', 'IMB-FT-3', 2400.00, 2, 240, 10, 0, 'JPY', 'product'),
  (14, 6, NULL, NULL, 6, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (15, 7, 8, 8, 7, 1, 1, 'ふじりんご 家庭用 5kg', 'APL-FUJI-5', 3980.00, 1, 318, 8, 0, 'JPY', 'product'),
  (16, 7, NULL, NULL, 7, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (17, 8, 6, 6, 8, 1, 1, '純米大吟醸 信濃の雫 720ml', 'SAKE-SZK-720', 4500.00, 2, 450, 10, 0, 'JPY', 'product'),
  (18, 8, NULL, NULL, 8, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (19, 9, 8, 8, 9, 1, 1, 'ふじりんご 家庭用 5kg', 'APL-FUJI-5', 3980.00, 1, 318, 8, 0, 'JPY', 'product'),
  (20, 9, 2, 2, 9, 1, 1, 'りんごバター 2個セット', 'APL-BTR-2', 1800.00, 1, 144, 8, 0, 'JPY', 'product'),
  (21, 9, NULL, NULL, 9, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (22, 10, 8, 8, 10, 1, 1, 'ふじりんご 家庭用 5kg', 'APL-FUJI-5', 3980.00, 2, 318, 8, 0, 'JPY', 'product'),
  (23, 10, NULL, NULL, 10, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (24, 10, NULL, NULL, NULL, 2, 3, '手数料', NULL, 330.00, 1, 30, 10, 0, 'JPY', 'orderitem'),
  (25, 11, 7, 7, 11, 1, 1, '輪島塗 三段重箱', 'WJM-JUB-3', 220000.00, 9999, 22000, 10, 0, 'JPY', 'product'),
  (26, 11, NULL, NULL, 11, 2, 2, '送料', NULL, 0.00, 1, 0, 10, 0, 'JPY', 'orderitem'),
  (27, 12, 5, 5, 12, 1, 1, '南部鉄器 急須 0.65L', 'NNB-KYU-065', 12000.00, 1, 1200, 10, 0, 'JPY', 'product'),
  (28, 12, NULL, NULL, 12, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (29, 13, 1, 1, 13, 1, 1, '信州りんごジュース 1L×6本', 'APL-JUICE-6', 3240.00, 1, 259, 8, 0, 'JPY', 'product'),
  (30, 13, 3, 3, 13, 1, 1, '有田焼 マグカップ 藍', 'ARITA-MUG', 2800.00, 2, 280, 10, 0, 'JPY', 'product'),
  (31, 13, NULL, NULL, 13, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (32, 13, NULL, NULL, NULL, 2, 3, '手数料', NULL, 330.00, 1, 30, 10, 0, 'JPY', 'orderitem'),
  (33, 13, NULL, NULL, NULL, 2, 4, 'クーポン割引', NULL, -500.00, 1, -45, 10, 0, 'JPY', 'orderitem'),
  (34, 14, 8, 8, 14, 1, 1, 'ふじりんご 家庭用 5kg', 'APL-FUJI-5', 3980.00, 1, 318, 8, 0, 'JPY', 'product'),
  (35, 14, NULL, NULL, 14, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (36, 15, 1, 1, 15, 1, 1, '信州りんごジュース 1L×6本', 'APL-JUICE-6', 3240.00, 2, 259, 8, 0, 'JPY', 'product'),
  (37, 15, NULL, NULL, 15, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (38, 16, 5, 5, 16, 1, 1, '南部鉄器 急須 0.65L', 'NNB-KYU-065', 12000.00, 1, 1200, 10, 0, 'JPY', 'product'),
  (39, 16, NULL, NULL, 16, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (40, 17, 2, 2, 17, 1, 1, 'りんごバター 2個セット', 'APL-BTR-2', 1800.00, 3, 144, 8, 0, 'JPY', 'product'),
  (41, 17, 1, 1, 17, 1, 1, '信州りんごジュース 1L×6本', 'APL-JUICE-6', 3240.00, 1, 259, 8, 0, 'JPY', 'product'),
  (42, 17, NULL, NULL, 17, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem'),
  (43, 18, 4, 4, 18, 1, 1, '今治タオル フェイスタオル 3枚組', 'IMB-FT-3', 2400.00, 2, 240, 10, 0, 'JPY', 'product'),
  (44, 18, NULL, NULL, 18, 2, 2, '送料', NULL, 800.00, 1, 73, 10, 0, 'JPY', 'orderitem');

INSERT INTO dtb_cart (id, customer_id, cart_key, pre_order_id, total_price, delivery_fee_total, sort_no, create_date, update_date, add_point, use_point, discriminator_type) VALUES
  (1, 10, '10_1', '0522a600000a2a9b7d5892c8ab45d1e3670b94c3', 3080.00, 0, NULL, '2026-10-15 19:52:00+09', '2026-10-15 20:10:00+09', 0, 0, 'cart'),
  (2, 5, '5_1', '5dfa620aa065da0b084d05f7c5516b506b6612aa', 5280.00, 0, NULL, '2026-11-19 21:48:00+09', '2026-11-19 22:00:00+09', 0, 0, 'cart'),
  (3, 3, '3_1', '364dc133ca4d306dc9eba503499e39e396e957b0', 9900.00, 0, NULL, '2026-11-20 08:47:00+09', '2026-11-20 09:00:00+09', 0, 0, 'cart'),
  (4, NULL, 'clhYSuNtIaG79bI3ITN5dX2VKlqjTFTD_1', '4a573018b5ed9a59a704b49f5ef976fa0d8d385c', 4298.00, 0, NULL, '2026-11-20 08:51:00+09', '2026-11-20 09:00:00+09', 0, 0, 'cart'),
  (5, NULL, 'HtWk6yZXUYsXXAxjlPWObfDuaXCn3hhU_1', '6c9e5725a332ed65dd3480809130efa0f7a8b78e', 8596.00, 0, NULL, '2026-11-20 10:21:00+09', '2026-11-20 10:30:00+09', 0, 0, 'cart'),
  (6, 9, '9_1', '0f7c31c4e364301c6d90efedba6274d719d70da7', 2419758000.00, 0, NULL, '2026-11-20 10:49:00+09', '2026-11-20 11:00:00+09', 0, 0, 'cart'),
  (7, 2, '2_1', '943694c7c9e0170cfcde9c27fcbd5ab8dbb620d8', 13200.00, 0, NULL, '2026-11-20 12:02:00+09', '2026-11-20 12:30:00+09', 0, 0, 'cart'),
  (8, 8, '8_1', NULL, 6894.00, 0, NULL, '2026-11-20 12:40:00+09', '2026-11-20 13:00:00+09', 0, 0, 'cart'),
  (9, 12, '12_1', 'c2c36de4914a348aba83cfab582e1d9c1caad400', 9659.00, 0, NULL, '2026-11-20 14:52:00+09', '2026-11-20 15:00:00+09', 0, 0, 'cart'),
  (10, 6, '6_1', '8b15e25600c38788b50f426ca38909105da2cb80', 4298.00, 0, NULL, '2026-11-20 15:47:00+09', '2026-11-20 16:00:00+09', 0, 0, 'cart'),
  (11, NULL, '1edeYRZoXAvkudChTq8GNlKw0EJ3yVSu_1', NULL, 4298.00, 0, NULL, '2026-11-20 16:10:00+09', '2026-11-20 16:15:00+09', 0, 0, 'cart'),
  (12, NULL, 'VbIBCxfQBRsELuA7FD6RYPv1nTDWjDI6_1', '55786c62193bf12a65318a9eabcdef8959ebba6f', 6998.00, 0, NULL, '2026-11-20 17:38:00+09', '2026-11-20 18:00:00+09', 0, 0, 'cart'),
  (13, 1, '1_1', NULL, 4584.00, 0, NULL, '2026-11-20 17:45:00+09', '2026-11-20 18:00:00+09', 0, 0, 'cart'),
  (14, NULL, 'H7CXANKiAeiw3YqT7i72gaj9uUUldCG3_1', '881b7883d79bd73f22188fbac25adbfc92c730d2', 13200.00, 0, NULL, '2026-11-20 18:51:00+09', '2026-11-20 19:00:00+09', 0, 0, 'cart'),
  (15, 11, '11_1', 'b1e4aa9899a7e88b10737afb396ec5a9b60fadd2', 5280.00, 0, NULL, '2026-11-20 20:21:00+09', '2026-11-20 20:30:00+09', 0, 0, 'cart');
INSERT INTO dtb_cart_item (id, product_class_id, cart_id, price, quantity, point_rate, discriminator_type) VALUES
  (1, 3, 1, 3080.00, 1, NULL, 'cartitem'),
  (2, 4, 2, 2640.00, 2, NULL, 'cartitem'),
  (3, 6, 3, 4950.00, 2, NULL, 'cartitem'),
  (4, 8, 4, 4298.00, 1, NULL, 'cartitem'),
  (5, 8, 5, 4298.00, 2, NULL, 'cartitem'),
  (6, 7, 6, 242000.00, 9999, NULL, 'cartitem'),
  (7, 5, 7, 13200.00, 1, NULL, 'cartitem'),
  (8, 6, 8, 4950.00, 1, NULL, 'cartitem'),
  (9, 2, 8, 1944.00, 1, NULL, 'cartitem'),
  (10, 1, 9, 3499.00, 1, NULL, 'cartitem'),
  (11, 3, 9, 3080.00, 2, NULL, 'cartitem'),
  (12, 8, 10, 4298.00, 1, NULL, 'cartitem'),
  (13, 8, 11, 4298.00, 1, NULL, 'cartitem'),
  (14, 1, 12, 3499.00, 2, NULL, 'cartitem'),
  (15, 4, 13, 2640.00, 1, NULL, 'cartitem'),
  (16, 2, 13, 1944.00, 1, NULL, 'cartitem'),
  (17, 5, 14, 13200.00, 1, NULL, 'cartitem'),
  (18, 4, 15, 2640.00, 2, NULL, 'cartitem');

SELECT setval('dtb_product_id_seq', (SELECT MAX(id) FROM dtb_product));
SELECT setval('dtb_product_class_id_seq', (SELECT MAX(id) FROM dtb_product_class));
SELECT setval('dtb_customer_id_seq', (SELECT MAX(id) FROM dtb_customer));
SELECT setval('dtb_order_id_seq', (SELECT MAX(id) FROM dtb_order));
SELECT setval('dtb_shipping_id_seq', (SELECT MAX(id) FROM dtb_shipping));
SELECT setval('dtb_order_item_id_seq', (SELECT MAX(id) FROM dtb_order_item));
SELECT setval('dtb_cart_id_seq', (SELECT MAX(id) FROM dtb_cart));
SELECT setval('dtb_cart_item_id_seq', (SELECT MAX(id) FROM dtb_cart_item));
