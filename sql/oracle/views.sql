-- Analyst views over rules and violations (oracle). Applied by `fleetwatch db init`;
-- re-applying changes nothing. Instants are UTC.

-- Violations per day of their instant: the thesis's Fig. 5.1.
CREATE OR REPLACE VIEW violations_per_day AS
SELECT TRUNC(v.ts) AS day,
       COUNT(*) AS violations,
       COUNT(DISTINCT v.serial_number) AS serials,
       COUNT(DISTINCT v.rule_id) AS rules
FROM violations v
GROUP BY TRUNC(v.ts);

-- Per rule, including rules that never matched.
CREATE OR REPLACE VIEW violations_per_rule AS
SELECT r.id AS rule_id, r.model, r.expression, r.active,
       COUNT(v.id) AS violations,
       COUNT(DISTINCT v.serial_number) AS serials,
       MIN(v.ts) AS first_ts,
       MAX(v.ts) AS last_ts
FROM rules r
LEFT JOIN violations v ON v.rule_id = r.id
GROUP BY r.id, r.model, r.expression, r.active;

-- Per equipment model.
CREATE OR REPLACE VIEW violations_per_model AS
SELECT r.model,
       COUNT(v.id) AS violations,
       COUNT(DISTINCT v.serial_number) AS serials,
       COUNT(DISTINCT r.id) AS rules
FROM rules r
LEFT JOIN violations v ON v.rule_id = r.id
GROUP BY r.model;

-- Per serial number; order by violations for the top serials (sql/README.md).
CREATE OR REPLACE VIEW violations_per_serial AS
SELECT v.serial_number, r.model,
       COUNT(*) AS violations,
       COUNT(DISTINCT v.rule_id) AS rules,
       MAX(v.ts) AS last_ts
FROM violations v
JOIN rules r ON r.id = v.rule_id
GROUP BY v.serial_number, r.model;
