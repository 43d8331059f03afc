-- A stand-in for a future version of the install scripts, used by the upgrade test only.
CREATE TABLE etl_rollback.upgrade_test (note text);
INSERT INTO etl_rollback.upgrade_test VALUES ('installed by version 4');
