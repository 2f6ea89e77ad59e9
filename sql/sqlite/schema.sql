-- sqlite DDL of the fleetwatch relational tables.
-- Generated from schemas/relational.py by `python -m schemas.ddl`; do not edit.

CREATE TABLE equipment (
	serial_number VARCHAR(64) NOT NULL, 
	model VARCHAR(64) NOT NULL, 
	site VARCHAR(128) NOT NULL, 
	team VARCHAR(128) NOT NULL, 
	commissioned_on DATE, 
	active BOOLEAN DEFAULT '1' NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	PRIMARY KEY (serial_number)
);

CREATE INDEX ix_equipment_model ON equipment (model);

CREATE INDEX ix_equipment_site ON equipment (site);

CREATE TABLE job_runs (
	run_id VARCHAR(36) NOT NULL, 
	day DATE NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	status VARCHAR(16) NOT NULL, 
	faults_read BIGINT, 
	pending_read BIGINT, 
	violations_new BIGINT, 
	rules_skipped TEXT, 
	stage_metrics TEXT, 
	error TEXT, 
	PRIMARY KEY (run_id)
);

CREATE INDEX ix_job_runs_day ON job_runs (day);

CREATE TABLE notifications_sent (
	id INTEGER NOT NULL, 
	kind VARCHAR(16) DEFAULT 'digest' NOT NULL, 
	day DATE NOT NULL, 
	route_key VARCHAR(64) NOT NULL, 
	recipients VARCHAR(2000) NOT NULL, 
	message_id VARCHAR(255) NOT NULL, 
	violations INTEGER NOT NULL, 
	queued_at DATETIME NOT NULL, 
	sent_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_notifications_sent_kind_day_route UNIQUE (kind, day, route_key), 
	UNIQUE (message_id)
);

CREATE TABLE routes (
	id INTEGER NOT NULL, 
	recipients VARCHAR(2000) NOT NULL, 
	site VARCHAR(128), 
	team VARCHAR(128), 
	model VARCHAR(64), 
	min_severity VARCHAR(16) DEFAULT 'info' NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_routes_min_severity CHECK (min_severity IN ('critical', 'warning', 'info'))
);

CREATE TABLE rules (
	id INTEGER NOT NULL, 
	model VARCHAR(64) NOT NULL, 
	expression VARCHAR(4000) NOT NULL, 
	description VARCHAR(1000), 
	active BOOLEAN DEFAULT '1' NOT NULL, 
	version INTEGER DEFAULT '1' NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	severity VARCHAR(16) DEFAULT 'warning' NOT NULL, 
	action VARCHAR(1000), 
	PRIMARY KEY (id), 
	CONSTRAINT ck_rules_severity CHECK (severity IN ('critical', 'warning', 'info'))
);

CREATE INDEX ix_rules_model ON rules (model);

CREATE TABLE temperature_breaches (
	id INTEGER NOT NULL, 
	equipment_id VARCHAR(64) NOT NULL, 
	model VARCHAR(64), 
	threshold_c FLOAT NOT NULL, 
	started_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	peak_average_c FLOAT NOT NULL, 
	emails_sent INTEGER DEFAULT '0' NOT NULL, 
	silenced BOOLEAN DEFAULT '0' NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_temperature_breaches_equipment_started UNIQUE (equipment_id, started_at)
);

CREATE INDEX ix_temperature_breaches_started_at ON temperature_breaches (started_at);

CREATE TABLE temperature_thresholds (
	id INTEGER NOT NULL, 
	equipment_id VARCHAR(64), 
	model VARCHAR(64), 
	threshold_c FLOAT NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_temperature_thresholds_one_scope CHECK ((equipment_id IS NOT NULL AND model IS NULL) OR (equipment_id IS NULL AND model IS NOT NULL)), 
	UNIQUE (equipment_id), 
	UNIQUE (model)
);

CREATE TABLE rule_versions (
	rule_id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	expression VARCHAR(4000) NOT NULL, 
	description VARCHAR(1000), 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	PRIMARY KEY (rule_id, version), 
	FOREIGN KEY(rule_id) REFERENCES rules (id)
);

CREATE TABLE silences (
	id INTEGER NOT NULL, 
	serial_number VARCHAR(64), 
	model VARCHAR(64), 
	rule_id INTEGER, 
	site VARCHAR(128), 
	starts_at DATETIME NOT NULL, 
	ends_at DATETIME NOT NULL, 
	reason VARCHAR(2000) NOT NULL, 
	created_by VARCHAR(128), 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	expired_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_silences_one_scope CHECK ((CASE WHEN serial_number IS NULL THEN 0 ELSE 1 END + CASE WHEN model IS NULL THEN 0 ELSE 1 END + CASE WHEN rule_id IS NULL THEN 0 ELSE 1 END + CASE WHEN site IS NULL THEN 0 ELSE 1 END) = 1), 
	CONSTRAINT ck_silences_period CHECK (ends_at > starts_at), 
	FOREIGN KEY(rule_id) REFERENCES rules (id)
);

CREATE TABLE violations (
	id INTEGER NOT NULL, 
	rule_id INTEGER NOT NULL, 
	serial_number VARCHAR(64) NOT NULL, 
	ts DATETIME NOT NULL, 
	detected_at DATETIME NOT NULL, 
	run_id VARCHAR(36), 
	rule_version INTEGER DEFAULT '1' NOT NULL, 
	evidence TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_violations_rule_serial_ts UNIQUE (rule_id, serial_number, ts), 
	FOREIGN KEY(rule_id) REFERENCES rules (id)
);

CREATE INDEX ix_violations_serial_number ON violations (serial_number);

CREATE INDEX ix_violations_ts ON violations (ts);

CREATE TABLE violation_states (
	violation_id INTEGER NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	acknowledged_at DATETIME, 
	acknowledged_by VARCHAR(128), 
	acknowledged_note VARCHAR(2000), 
	resolved_at DATETIME, 
	resolved_by VARCHAR(128), 
	resolved_note VARCHAR(2000), 
	resolution VARCHAR(16), 
	PRIMARY KEY (violation_id), 
	CONSTRAINT ck_violation_states_state CHECK (state IN ('open', 'acknowledged', 'resolved')), 
	CONSTRAINT ck_violation_states_resolution CHECK (resolution IS NULL OR resolution IN ('repaired', 'false_positive', 'no_action')), 
	CONSTRAINT ck_violation_states_resolved CHECK (state <> 'resolved' OR (resolved_at IS NOT NULL AND resolution IS NOT NULL)), 
	FOREIGN KEY(violation_id) REFERENCES violations (id)
);

CREATE INDEX ix_violation_states_state ON violation_states (state);
