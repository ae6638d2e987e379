-- Magento Open Source 2.4 — the subset of the shop schema cartnudge reads, as MariaDB DDL.
--
-- Source: https://github.com/magento/magento2 (2.4-develop line), declarative schema files
-- (Magento's setup:install turns them into DDL; there is no published .sql):
--   app/code/Magento/Quote/etc/db_schema.xml       quote, quote_item, quote_address
--                                                  (version read: blob at commit 025d0de02e9c8c66659833a735b9f31485d28928)
--   app/code/Magento/Sales/etc/db_schema.xml       sales_order, sales_order_item
--                                                  (commit 043540859ed566f5e73a1a4c680bbdc1cfaef698)
--   app/code/Magento/Customer/etc/db_schema.xml    customer_entity
--                                                  (commit 05da4bc1dc899598042daaa65c6d7e0d1898abb9)
--   app/code/Magento/Newsletter/etc/db_schema.xml  newsletter_subscriber (the e-mail consent)
--                                                  (commit 13ef5082dd7e41c6ebcc361c548b7a1fce1c753b)
--   app/code/Magento/Store/etc/db_schema.xml       store_website, store_group, store
--                                                  (commit 1d0316d756987e4453c38bb432eee03153a7fec0)
-- These are the versions the code index holds (read 2026; one per file, from the 2.4 line: money
-- columns decimal(20,4); an older stored Quote version, commit 1c820bef8e6c, still had
-- decimal(12,4)). They could not be tied to one release tag; the columns below have the same
-- names and types across those versions except that precision.
--
-- Mapping (Magento's MySQL DDL generator): int/smallint keep unsigned and their default padding
-- (int unsigned -> int(10) unsigned, int -> int(11), smallint unsigned -> smallint(5) unsigned,
-- smallint -> smallint(6)); identity -> AUTO_INCREMENT; timestamp with default CURRENT_TIMESTAMP
-- and on_update="true" -> ON UPDATE current_timestamp(); decimal(p,s) as is; index, unique and
-- foreign-key names are the files' referenceId. Every table: ENGINE=InnoDB, utf8mb4 with
-- utf8mb4_general_ci (a case-INSENSITIVE collation: e-mail comparisons ignore case here).
-- Magento writes every timestamp in UTC (its connection runs with time_zone '+00:00').
--
-- Left out on purpose: columns cartnudge does not read (currency rates, tax/discount
-- compensation, VAT, weights, invoiced/refunded/canceled totals, ...) and the tables behind
-- them; the foreign key quote_item.parent_item_id is kept. quote.customer_id has NO foreign key
-- in Magento (a deleted customer leaves the quote pointing nowhere); sales_order.customer_id has
-- one with ON DELETE SET NULL. sales_order.quote_id is a signed int(11) without a foreign key,
-- while quote.entity_id is int(10) unsigned.

CREATE TABLE store_website (
  website_id smallint(5) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Website ID',
  code varchar(32) DEFAULT NULL COMMENT 'Code',
  name varchar(64) DEFAULT NULL COMMENT 'Website Name',
  sort_order smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Sort Order',
  default_group_id smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Default Group ID',
  is_default smallint(5) unsigned DEFAULT 0 COMMENT 'Defines Is Website Default',
  PRIMARY KEY (website_id),
  UNIQUE KEY STORE_WEBSITE_CODE (code),
  KEY STORE_WEBSITE_SORT_ORDER (sort_order),
  KEY STORE_WEBSITE_DEFAULT_GROUP_ID (default_group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Websites';

CREATE TABLE store_group (
  group_id smallint(5) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Group ID',
  website_id smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Website ID',
  name varchar(255) NOT NULL COMMENT 'Store Group Name',
  root_category_id int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'Root Category ID',
  default_store_id smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Default Store ID',
  code varchar(32) DEFAULT NULL COMMENT 'Store group unique code',
  PRIMARY KEY (group_id),
  UNIQUE KEY STORE_GROUP_CODE (code),
  KEY STORE_GROUP_WEBSITE_ID (website_id),
  KEY STORE_GROUP_DEFAULT_STORE_ID (default_store_id),
  CONSTRAINT STORE_GROUP_WEBSITE_ID_STORE_WEBSITE_WEBSITE_ID FOREIGN KEY (website_id) REFERENCES store_website (website_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Store Groups';

CREATE TABLE store (
  store_id smallint(5) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Store ID',
  code varchar(32) DEFAULT NULL COMMENT 'Code',
  website_id smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Website ID',
  group_id smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Group ID',
  name varchar(255) NOT NULL COMMENT 'Store Name',
  sort_order smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Store Sort Order',
  is_active smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Store Activity',
  PRIMARY KEY (store_id),
  UNIQUE KEY STORE_CODE (code),
  KEY STORE_WEBSITE_ID (website_id),
  KEY STORE_IS_ACTIVE_SORT_ORDER (is_active, sort_order),
  KEY STORE_GROUP_ID (group_id),
  CONSTRAINT STORE_GROUP_ID_STORE_GROUP_GROUP_ID FOREIGN KEY (group_id) REFERENCES store_group (group_id) ON DELETE CASCADE,
  CONSTRAINT STORE_WEBSITE_ID_STORE_WEBSITE_WEBSITE_ID FOREIGN KEY (website_id) REFERENCES store_website (website_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Stores';

-- Customer: firstname is the given name, lastname the family name (Japanese stores show
-- lastname first). Deleting a customer deletes this row (no "withdrawn" status; is_active exists).
CREATE TABLE customer_entity (
  entity_id int(10) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Entity ID',
  website_id smallint(5) unsigned DEFAULT NULL COMMENT 'Website ID',
  email varchar(255) DEFAULT NULL COMMENT 'Email',
  group_id smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Group ID',
  increment_id varchar(50) DEFAULT NULL COMMENT 'Increment ID',
  store_id smallint(5) unsigned DEFAULT 0 COMMENT 'Store ID',
  created_at timestamp NOT NULL DEFAULT current_timestamp() COMMENT 'Created At',
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp() COMMENT 'Updated At',
  is_active smallint(5) unsigned NOT NULL DEFAULT 1 COMMENT 'Is Active',
  disable_auto_group_change smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Disable automatic group change based on VAT ID',
  created_in varchar(255) DEFAULT NULL COMMENT 'Created From',
  prefix varchar(40) DEFAULT NULL COMMENT 'Name Prefix',
  firstname varchar(255) DEFAULT NULL COMMENT 'First Name',
  middlename varchar(255) DEFAULT NULL COMMENT 'Middle Name/Initial',
  lastname varchar(255) DEFAULT NULL COMMENT 'Last Name',
  suffix varchar(40) DEFAULT NULL COMMENT 'Name Suffix',
  dob date DEFAULT NULL COMMENT 'Date of Birth',
  password_hash varchar(128) DEFAULT NULL COMMENT 'Password_hash',
  rp_token varchar(128) DEFAULT NULL COMMENT 'Reset password token',
  rp_token_created_at datetime DEFAULT NULL COMMENT 'Reset password token creation time',
  default_billing int(10) unsigned DEFAULT NULL COMMENT 'Default Billing Address',
  default_shipping int(10) unsigned DEFAULT NULL COMMENT 'Default Shipping Address',
  taxvat varchar(50) DEFAULT NULL COMMENT 'Tax/VAT Number',
  confirmation varchar(64) DEFAULT NULL COMMENT 'Is Confirmed',
  gender smallint(5) unsigned DEFAULT NULL COMMENT 'Gender',
  failures_num smallint(6) DEFAULT 0 COMMENT 'Failure Number',
  first_failure timestamp NULL DEFAULT NULL COMMENT 'First Failure',
  lock_expires timestamp NULL DEFAULT NULL COMMENT 'Lock Expiration Date',
  session_cutoff timestamp NULL DEFAULT NULL COMMENT 'Session Cutoff Time',
  PRIMARY KEY (entity_id),
  UNIQUE KEY CUSTOMER_ENTITY_EMAIL_WEBSITE_ID (email, website_id),
  KEY CUSTOMER_ENTITY_STORE_ID (store_id),
  KEY CUSTOMER_ENTITY_WEBSITE_ID (website_id),
  KEY CUSTOMER_ENTITY_FIRSTNAME (firstname),
  KEY CUSTOMER_ENTITY_LASTNAME (lastname),
  CONSTRAINT CUSTOMER_ENTITY_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE SET NULL,
  CONSTRAINT CUSTOMER_ENTITY_WEBSITE_ID_STORE_WEBSITE_WEBSITE_ID FOREIGN KEY (website_id) REFERENCES store_website (website_id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Customer Entity';

-- The consent: one row per subscribed address. subscriber_status 1 subscribed, 2 not active,
-- 3 unsubscribed, 4 unconfirmed (Magento\Newsletter\Model\Subscriber::STATUS_*). A guest's row
-- has customer_id 0 (NOT NULL DEFAULT 0), so guests are matched by subscriber_email and store.
CREATE TABLE newsletter_subscriber (
  subscriber_id int(10) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Subscriber ID',
  store_id smallint(5) unsigned DEFAULT 0 COMMENT 'Store ID',
  change_status_at timestamp NULL DEFAULT NULL COMMENT 'Change Status At',
  customer_id int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'Customer ID',
  subscriber_email varchar(150) DEFAULT NULL COMMENT 'Subscriber Email',
  subscriber_status int(11) NOT NULL DEFAULT 0 COMMENT 'Subscriber Status',
  subscriber_confirm_code varchar(32) DEFAULT NULL COMMENT 'Subscriber Confirm Code',
  PRIMARY KEY (subscriber_id),
  KEY NEWSLETTER_SUBSCRIBER_CUSTOMER_ID (customer_id),
  KEY NEWSLETTER_SUBSCRIBER_STORE_ID (store_id),
  KEY NEWSLETTER_SUBSCRIBER_SUBSCRIBER_EMAIL (subscriber_email),
  CONSTRAINT NEWSLETTER_SUBSCRIBER_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Newsletter Subscriber';

-- The cart. An abandoned cart in Magento's own reports (Reports > Abandoned Carts) is an
-- is_active = 1 quote with items_count > 0 and a customer; is_active becomes 0 when an order is
-- placed from it (sales_order.quote_id). A guest's customer_email is filled late in checkout.
CREATE TABLE quote (
  entity_id int(10) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Entity ID',
  store_id smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Store ID',
  created_at timestamp NOT NULL DEFAULT current_timestamp() COMMENT 'Created At',
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  converted_at timestamp NULL DEFAULT NULL COMMENT 'Converted At',
  is_active smallint(5) unsigned DEFAULT 1 COMMENT 'Is Active',
  is_virtual smallint(5) unsigned DEFAULT 0 COMMENT 'Is Virtual',
  is_multi_shipping smallint(5) unsigned DEFAULT 0 COMMENT 'Is Multi Shipping',
  items_count int(10) unsigned DEFAULT 0 COMMENT 'Items Count',
  items_qty decimal(12,4) DEFAULT 0.0000 COMMENT 'Items Qty',
  orig_order_id int(10) unsigned DEFAULT 0 COMMENT 'Orig Order ID',
  base_currency_code varchar(255) DEFAULT NULL COMMENT 'Base Currency Code',
  store_currency_code varchar(255) DEFAULT NULL COMMENT 'Store Currency Code',
  quote_currency_code varchar(255) DEFAULT NULL COMMENT 'Quote Currency Code',
  grand_total decimal(20,4) DEFAULT 0.0000 COMMENT 'Grand Total',
  base_grand_total decimal(20,4) DEFAULT 0.0000 COMMENT 'Base Grand Total',
  checkout_method varchar(255) DEFAULT NULL COMMENT 'Checkout Method',
  customer_id int(10) unsigned DEFAULT NULL COMMENT 'Customer ID',
  customer_tax_class_id int(10) unsigned DEFAULT NULL COMMENT 'Customer Tax Class ID',
  customer_group_id int(10) unsigned DEFAULT 0 COMMENT 'Customer Group ID',
  customer_email varchar(255) DEFAULT NULL COMMENT 'Customer Email',
  customer_prefix varchar(40) DEFAULT NULL COMMENT 'Customer Prefix',
  customer_firstname varchar(255) DEFAULT NULL COMMENT 'Customer Firstname',
  customer_middlename varchar(40) DEFAULT NULL COMMENT 'Customer Middlename',
  customer_lastname varchar(255) DEFAULT NULL COMMENT 'Customer Lastname',
  customer_suffix varchar(40) DEFAULT NULL COMMENT 'Customer Suffix',
  customer_dob datetime DEFAULT NULL COMMENT 'Customer Dob',
  customer_note varchar(255) DEFAULT NULL COMMENT 'Customer Note',
  customer_note_notify smallint(5) unsigned DEFAULT 1 COMMENT 'Customer Note Notify',
  customer_is_guest smallint(5) unsigned DEFAULT 0 COMMENT 'Customer Is Guest',
  remote_ip varchar(45) DEFAULT NULL COMMENT 'Remote Ip',
  applied_rule_ids varchar(255) DEFAULT NULL COMMENT 'Applied Rule Ids',
  reserved_order_id varchar(64) DEFAULT NULL COMMENT 'Reserved Order ID',
  coupon_code varchar(255) DEFAULT NULL COMMENT 'Coupon Code',
  global_currency_code varchar(255) DEFAULT NULL COMMENT 'Global Currency Code',
  subtotal decimal(20,4) DEFAULT NULL COMMENT 'Subtotal',
  base_subtotal decimal(20,4) DEFAULT NULL COMMENT 'Base Subtotal',
  subtotal_with_discount decimal(20,4) DEFAULT NULL COMMENT 'Subtotal With Discount',
  base_subtotal_with_discount decimal(20,4) DEFAULT NULL COMMENT 'Base Subtotal With Discount',
  is_changed int(10) unsigned DEFAULT NULL COMMENT 'Is Changed',
  trigger_recollect smallint(6) NOT NULL DEFAULT 0 COMMENT 'Trigger Recollect',
  PRIMARY KEY (entity_id),
  KEY QUOTE_CUSTOMER_ID_STORE_ID_IS_ACTIVE (customer_id, store_id, is_active),
  KEY QUOTE_STORE_ID (store_id),
  CONSTRAINT QUOTE_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Sales Flat Quote';

-- Cart lines. A configurable product is two rows: the parent (product_type 'configurable',
-- with the price) and its child simple product (parent_item_id set, price 0).
-- price is without tax; price_incl_tax / row_total_incl_tax with it.
CREATE TABLE quote_item (
  item_id int(10) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Item ID',
  quote_id int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'Quote ID',
  created_at timestamp NOT NULL DEFAULT current_timestamp() COMMENT 'Created At',
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp() COMMENT 'Updated At',
  product_id int(10) unsigned DEFAULT NULL COMMENT 'Product ID',
  store_id smallint(5) unsigned DEFAULT NULL COMMENT 'Store ID',
  parent_item_id int(10) unsigned DEFAULT NULL COMMENT 'Parent Item ID',
  is_virtual smallint(5) unsigned DEFAULT NULL COMMENT 'Is Virtual',
  sku varchar(255) DEFAULT NULL COMMENT 'Sku',
  name varchar(255) DEFAULT NULL COMMENT 'Name',
  is_qty_decimal smallint(5) unsigned DEFAULT NULL COMMENT 'Is Qty Decimal',
  no_discount smallint(5) unsigned DEFAULT 0 COMMENT 'No Discount',
  qty decimal(12,4) NOT NULL DEFAULT 0.0000 COMMENT 'Qty',
  price decimal(12,4) NOT NULL DEFAULT 0.0000 COMMENT 'Price',
  base_price decimal(12,4) NOT NULL DEFAULT 0.0000 COMMENT 'Base Price',
  custom_price decimal(12,4) DEFAULT NULL COMMENT 'Custom Price',
  discount_percent decimal(12,4) DEFAULT 0.0000 COMMENT 'Discount Percent',
  discount_amount decimal(20,4) DEFAULT 0.0000 COMMENT 'Discount Amount',
  base_discount_amount decimal(20,4) DEFAULT 0.0000 COMMENT 'Base Discount Amount',
  tax_percent decimal(12,4) DEFAULT 0.0000 COMMENT 'Tax Percent',
  tax_amount decimal(20,4) DEFAULT 0.0000 COMMENT 'Tax Amount',
  base_tax_amount decimal(20,4) DEFAULT 0.0000 COMMENT 'Base Tax Amount',
  row_total decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Row Total',
  base_row_total decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Base Row Total',
  row_total_with_discount decimal(20,4) DEFAULT 0.0000 COMMENT 'Row Total With Discount',
  product_type varchar(255) DEFAULT NULL COMMENT 'Product Type',
  price_incl_tax decimal(20,4) DEFAULT NULL COMMENT 'Price Incl Tax',
  base_price_incl_tax decimal(20,4) DEFAULT NULL COMMENT 'Base Price Incl Tax',
  row_total_incl_tax decimal(20,4) DEFAULT NULL COMMENT 'Row Total Incl Tax',
  base_row_total_incl_tax decimal(20,4) DEFAULT NULL COMMENT 'Base Row Total Incl Tax',
  PRIMARY KEY (item_id),
  KEY QUOTE_ITEM_PARENT_ITEM_ID (parent_item_id),
  KEY QUOTE_ITEM_PRODUCT_ID (product_id),
  KEY QUOTE_ITEM_QUOTE_ID (quote_id),
  KEY QUOTE_ITEM_STORE_ID (store_id),
  CONSTRAINT QUOTE_ITEM_PARENT_ITEM_ID_QUOTE_ITEM_ITEM_ID FOREIGN KEY (parent_item_id) REFERENCES quote_item (item_id) ON DELETE CASCADE,
  CONSTRAINT QUOTE_ITEM_QUOTE_ID_QUOTE_ENTITY_ID FOREIGN KEY (quote_id) REFERENCES quote (entity_id) ON DELETE CASCADE,
  CONSTRAINT QUOTE_ITEM_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Sales Flat Quote Item';

-- Billing and shipping addresses of a quote (address_type 'billing' | 'shipping'); a guest's
-- e-mail and telephone typed at the shipping step land here before quote.customer_email.
CREATE TABLE quote_address (
  address_id int(10) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Address ID',
  quote_id int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'Quote ID',
  created_at timestamp NOT NULL DEFAULT current_timestamp() COMMENT 'Created At',
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp() COMMENT 'Updated At',
  customer_id int(10) unsigned DEFAULT NULL COMMENT 'Customer ID',
  save_in_address_book smallint(6) DEFAULT 0 COMMENT 'Save In Address Book',
  customer_address_id int(10) unsigned DEFAULT NULL COMMENT 'Customer Address ID',
  address_type varchar(10) DEFAULT NULL COMMENT 'Address Type',
  email varchar(255) DEFAULT NULL COMMENT 'Email',
  prefix varchar(40) DEFAULT NULL COMMENT 'Prefix',
  firstname varchar(255) DEFAULT NULL,
  middlename varchar(40) DEFAULT NULL,
  lastname varchar(255) DEFAULT NULL,
  suffix varchar(40) DEFAULT NULL COMMENT 'Suffix',
  company varchar(255) DEFAULT NULL COMMENT 'Company',
  street varchar(255) DEFAULT NULL COMMENT 'Street',
  city varchar(255) DEFAULT NULL,
  region varchar(255) DEFAULT NULL,
  region_id int(10) unsigned DEFAULT NULL COMMENT 'Region ID',
  postcode varchar(20) DEFAULT NULL COMMENT 'Postcode',
  country_id varchar(30) DEFAULT NULL COMMENT 'Country ID',
  telephone varchar(255) DEFAULT NULL,
  same_as_billing smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Same As Billing',
  collect_shipping_rates smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Collect Shipping Rates',
  shipping_method varchar(120) DEFAULT NULL,
  shipping_description varchar(255) DEFAULT NULL COMMENT 'Shipping Description',
  weight decimal(12,4) NOT NULL DEFAULT 0.0000 COMMENT 'Weight',
  subtotal decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Subtotal',
  base_subtotal decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Base Subtotal',
  tax_amount decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Tax Amount',
  shipping_amount decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Shipping Amount',
  discount_amount decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Discount Amount',
  grand_total decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Grand Total',
  base_grand_total decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Base Grand Total',
  PRIMARY KEY (address_id),
  KEY QUOTE_ADDRESS_QUOTE_ID (quote_id),
  CONSTRAINT QUOTE_ADDRESS_QUOTE_ID_QUOTE_ENTITY_ID FOREIGN KEY (quote_id) REFERENCES quote (entity_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Sales Flat Quote Address';

-- The order placed from a quote: quote_id names the quote (no foreign key), increment_id the
-- order number shown to the shopper (quote.reserved_order_id before placing). state: new,
-- pending_payment, processing, complete, closed, canceled, holded, payment_review; status is the
-- configurable label (e.g. pending, fraud).
CREATE TABLE sales_order (
  entity_id int(10) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Entity ID',
  state varchar(32) DEFAULT NULL COMMENT 'State',
  status varchar(32) DEFAULT NULL COMMENT 'Status',
  coupon_code varchar(255) DEFAULT NULL COMMENT 'Coupon Code',
  protect_code varchar(255) DEFAULT NULL COMMENT 'Protect Code',
  shipping_description varchar(255) DEFAULT NULL COMMENT 'Shipping Description',
  is_virtual smallint(5) unsigned DEFAULT NULL COMMENT 'Is Virtual',
  store_id smallint(5) unsigned DEFAULT NULL COMMENT 'Store ID',
  customer_id int(10) unsigned DEFAULT NULL COMMENT 'Customer ID',
  base_discount_amount decimal(20,4) DEFAULT NULL COMMENT 'Base Discount Amount',
  base_grand_total decimal(20,4) DEFAULT NULL COMMENT 'Base Grand Total',
  base_shipping_amount decimal(20,4) DEFAULT NULL COMMENT 'Base Shipping Amount',
  base_subtotal decimal(20,4) DEFAULT NULL COMMENT 'Base Subtotal',
  base_tax_amount decimal(20,4) DEFAULT NULL COMMENT 'Base Tax Amount',
  base_total_paid decimal(20,4) DEFAULT NULL COMMENT 'Base Total Paid',
  discount_amount decimal(20,4) DEFAULT NULL COMMENT 'Discount Amount',
  grand_total decimal(20,4) DEFAULT NULL COMMENT 'Grand Total',
  shipping_amount decimal(20,4) DEFAULT NULL COMMENT 'Shipping Amount',
  subtotal decimal(20,4) DEFAULT NULL COMMENT 'Subtotal',
  tax_amount decimal(20,4) DEFAULT NULL COMMENT 'Tax Amount',
  total_paid decimal(20,4) DEFAULT NULL COMMENT 'Total Paid',
  total_qty_ordered decimal(12,4) DEFAULT NULL COMMENT 'Total Qty Ordered',
  customer_is_guest smallint(5) unsigned DEFAULT NULL COMMENT 'Customer Is Guest',
  customer_note_notify smallint(5) unsigned DEFAULT NULL COMMENT 'Customer Note Notify',
  billing_address_id int(11) DEFAULT NULL COMMENT 'Billing Address ID',
  customer_group_id int(11) DEFAULT NULL,
  email_sent smallint(6) DEFAULT NULL COMMENT 'Email Sent',
  send_email smallint(5) unsigned DEFAULT NULL COMMENT 'Send Email',
  quote_address_id int(11) DEFAULT NULL COMMENT 'Quote Address ID',
  quote_id int(11) DEFAULT NULL COMMENT 'Quote ID',
  shipping_address_id int(11) DEFAULT NULL COMMENT 'Shipping Address ID',
  subtotal_incl_tax decimal(20,4) DEFAULT NULL COMMENT 'Subtotal Incl Tax',
  increment_id varchar(50) DEFAULT NULL COMMENT 'Increment ID',
  base_currency_code varchar(3) DEFAULT NULL COMMENT 'Base Currency Code',
  customer_email varchar(128) DEFAULT NULL COMMENT 'Customer Email',
  customer_firstname varchar(128) DEFAULT NULL COMMENT 'Customer Firstname',
  customer_lastname varchar(128) DEFAULT NULL COMMENT 'Customer Lastname',
  customer_middlename varchar(128) DEFAULT NULL COMMENT 'Customer Middlename',
  order_currency_code varchar(3) DEFAULT NULL COMMENT 'Order Currency Code',
  remote_ip varchar(45) DEFAULT NULL COMMENT 'Remote Ip',
  shipping_method varchar(120) DEFAULT NULL,
  store_currency_code varchar(3) DEFAULT NULL COMMENT 'Store Currency Code',
  store_name varchar(255) DEFAULT NULL COMMENT 'Store Name',
  customer_note text DEFAULT NULL COMMENT 'Customer Note',
  created_at timestamp NOT NULL DEFAULT current_timestamp() COMMENT 'Created At',
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp() COMMENT 'Updated At',
  total_item_count smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Total Item Count',
  PRIMARY KEY (entity_id),
  UNIQUE KEY SALES_ORDER_INCREMENT_ID_STORE_ID (increment_id, store_id),
  KEY SALES_ORDER_STATUS (status),
  KEY SALES_ORDER_STATE (state),
  KEY SALES_ORDER_STORE_ID (store_id),
  KEY SALES_ORDER_CREATED_AT (created_at),
  KEY SALES_ORDER_CUSTOMER_ID (customer_id),
  KEY SALES_ORDER_QUOTE_ID (quote_id),
  KEY SALES_ORDER_UPDATED_AT (updated_at),
  KEY SALES_ORDER_SEND_EMAIL (send_email),
  KEY SALES_ORDER_EMAIL_SENT (email_sent),
  KEY SALES_ORDER_STORE_STATE_CREATED (store_id, state, created_at),
  KEY SALES_ORDER_CUSTOMER_EMAIL_CUSTOMER_IS_GUEST_STORE_ID (customer_email, customer_is_guest, store_id),
  CONSTRAINT SALES_ORDER_CUSTOMER_ID_CUSTOMER_ENTITY_ENTITY_ID FOREIGN KEY (customer_id) REFERENCES customer_entity (entity_id) ON DELETE SET NULL,
  CONSTRAINT SALES_ORDER_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Sales Flat Order';

CREATE TABLE sales_order_item (
  item_id int(10) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Item ID',
  order_id int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'Order ID',
  parent_item_id int(10) unsigned DEFAULT NULL COMMENT 'Parent Item ID',
  quote_item_id int(10) unsigned DEFAULT NULL COMMENT 'Quote Item ID',
  store_id smallint(5) unsigned DEFAULT NULL COMMENT 'Store ID',
  created_at timestamp NOT NULL DEFAULT current_timestamp() COMMENT 'Created At',
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp() COMMENT 'Updated At',
  product_id int(10) unsigned DEFAULT NULL COMMENT 'Product ID',
  product_type varchar(255) DEFAULT NULL COMMENT 'Product Type',
  sku varchar(255) DEFAULT NULL COMMENT 'Sku',
  name varchar(255) DEFAULT NULL COMMENT 'Name',
  no_discount smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'No Discount',
  qty_ordered decimal(12,4) DEFAULT 0.0000 COMMENT 'Qty Ordered',
  price decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Price',
  base_price decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Base Price',
  original_price decimal(20,4) DEFAULT NULL COMMENT 'Original Price',
  tax_percent decimal(12,4) DEFAULT 0.0000 COMMENT 'Tax Percent',
  tax_amount decimal(20,4) DEFAULT 0.0000 COMMENT 'Tax Amount',
  discount_amount decimal(20,4) DEFAULT 0.0000 COMMENT 'Discount Amount',
  row_total decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Row Total',
  base_row_total decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Base Row Total',
  row_invoiced decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Row Invoiced',
  base_row_invoiced decimal(20,4) NOT NULL DEFAULT 0.0000 COMMENT 'Base Row Invoiced',
  price_incl_tax decimal(20,4) DEFAULT NULL COMMENT 'Price Incl Tax',
  row_total_incl_tax decimal(20,4) DEFAULT NULL COMMENT 'Row Total Incl Tax',
  PRIMARY KEY (item_id),
  KEY SALES_ORDER_ITEM_ORDER_ID (order_id),
  KEY SALES_ORDER_ITEM_STORE_ID (store_id),
  CONSTRAINT SALES_ORDER_ITEM_ORDER_ID_SALES_ORDER_ENTITY_ID FOREIGN KEY (order_id) REFERENCES sales_order (entity_id) ON DELETE CASCADE,
  CONSTRAINT SALES_ORDER_ITEM_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Sales Flat Order Item';
