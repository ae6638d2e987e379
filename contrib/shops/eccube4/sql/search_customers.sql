-- cartnudge shop contract: search_customers — EC-CUBE 4.2 on PostgreSQL
--
-- Every customer (cartnudge pages it and finds each one's latest abandoned order in
-- abandoned.sql).
SELECT
  c.id             AS customer_id,
  c.name01 || ' ' || c.name02 AS customer_name,
  c.email          AS email,
  (c.customer_status_id = 2 AND c.plg_mailmagazine_flg = 1) IS TRUE AS email_consent,
  CASE WHEN c.customer_status_id = 2 THEN 'member' ELSE 'visitor' END AS customer_status
FROM dtb_customer c
