-- sqlite DDL of the fleetwatch relational tables.
-- Generated from schemas/relational.py by `python -m schemas.ddl`; do not edit.

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

CREATE TABLE rules (
	id INTEGER NOT NULL, 
	model VARCHAR(64) NOT NULL, 
	expression VARCHAR(4000) NOT NULL, 
	description VARCHAR(1000), 
	active BOOLEAN DEFAULT '1' NOT NULL, 
	version INTEGER DEFAULT '1' NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_rules_model ON rules (model);

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
