-- cartnudge shop contract: search_customers — FIRST DRAFT for EC-CUBE 4.2 on PostgreSQL
--
-- Every customer with their latest order in abandoned state (NULLs when they have none), in
-- keyset pages by customer_id, for `cartnudge search` and `cartnudge send-bulk`. Filters are
-- applied by cartnudge, so this query stays one simple shape on every database.
--
-- Columns it must return:
--   customer_id       integer
--   customer_name     text
--   email             text       NULL allowed
--   email_consent     boolean
--   customer_status   text       'member' | 'visitor'
--   order_id          integer    the latest abandoned order, NULL if none
--   abandoned_step    text       its step ('input' belongs to the input flow), NULL if none
--   abandoned_at      timestamp  NULL if none
--   total_amount      integer    yen, the abandoned order's total, NULL if none
--   storefront        text       NULL if none
--   lp_id             integer    NULL if none
--
-- Bind parameters:
--
-- EC-CUBE mapping (draft): customers are dtb_customer rows only (guests have none and cannot
-- be searched); 仮会員 and 退会 come out as 'visitor'. The latest abandoned order is the latest
-- status-8 order of the customer; a member's cart without an order is not considered here.
SELECT
  c.id             AS customer_id,
  c.name01 || ' ' || c.name02 AS customer_name,
  c.email          AS email,
  (c.customer_status_id = 2 AND c.plg_mailmagazine_flg = 1) IS TRUE AS email_consent,
  CASE WHEN c.customer_status_id = 2 THEN 'member' ELSE 'visitor' END AS customer_status,
  o.id             AS order_id,
  CASE WHEN o.id IS NOT NULL THEN 'confirm' END AS abandoned_step,
  o.update_date    AS abandoned_at,
  o.total          AS total_amount,
  CASE WHEN o.id IS NOT NULL THEN 'shop' END AS storefront,
  CAST(NULL AS INT) AS lp_id
FROM dtb_customer c
LEFT JOIN dtb_order o
  ON o.id = (SELECT o2.id
               FROM dtb_order o2
              WHERE o2.customer_id = c.id
                AND o2.order_status_id = 8
              ORDER BY o2.update_date DESC, o2.id DESC
              LIMIT 1)
