-- cartnudge shop contract: search_customers — Magento 2.4 on MariaDB
--
-- Every customer account (cartnudge pages it and finds each one's latest abandoned quote in
-- abandoned.sql).
SELECT
  c.entity_id      AS customer_id,
  TRIM(CONCAT(COALESCE(c.lastname, ''), ' ', COALESCE(c.firstname, ''))) AS customer_name,
  c.email          AS email,
  EXISTS (SELECT 1 FROM newsletter_subscriber s
           WHERE s.customer_id = c.entity_id AND s.subscriber_status = 1) AS email_consent,
  'member'         AS customer_status
FROM customer_entity c
