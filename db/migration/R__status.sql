-- etl-rollback: the status of a migration after a rollback.
--
-- A rollback rollback:X sets the status of X. It is a migration too: undoing it (fully) takes it out of force
-- and puts X back as rollback:X found it; undoing that undo puts rollback:X back in force, and X back as
-- rollback:X left it; and so on along any chain of rollbacks. A rollback and the --sql script it writes both
-- record their outcome through _rolled_back, so that the chain is followed the same way by either.

/* [jooq ignore start] */

-- _follow_rollbacks: set a migration's status from the rollbacks of it that are in force, wholly or in part.
-- The latest of them left the status it recorded, if the others in force are the ones it found: none where it
-- found the migration active, some where it found it partly undone. Where they are not (an earlier rollback
-- undone under a later one), or the latest is itself partly undone, the migration is partly undone, with no
-- window: its next rollback reads its whole log and finds done what is undone already.
CREATE OR REPLACE FUNCTION etl_rollback._follow_rollbacks(p_mig integer)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_latest record;
    v_others bigint;
    v_others_partial bigint;
    v_status text;
    v_undone_after bigint;
BEGIN
    SELECT mig, status, found_status, left_status, left_undone_after_seq INTO v_latest
      FROM etl_rollback.migration
     WHERE rollback_of = p_mig AND status <> 'rolled_back'
     ORDER BY mig DESC LIMIT 1;
    IF NOT FOUND THEN
        v_status := 'active';
    ELSE
        SELECT count(*), count(*) FILTER (WHERE status <> 'active') INTO v_others, v_others_partial
          FROM etl_rollback.migration
         WHERE rollback_of = p_mig AND status <> 'rolled_back' AND mig <> v_latest.mig;
        IF v_latest.status = 'active' AND v_latest.left_status IS NOT NULL AND v_others_partial = 0
           AND (v_latest.found_status = 'active') = (v_others = 0) THEN
            v_status := v_latest.left_status;
            v_undone_after := v_latest.left_undone_after_seq;
        ELSE
            v_status := 'partially_rolled_back';
        END IF;
    END IF;
    PERFORM etl_rollback._set_status(p_mig, v_status, v_undone_after);
END
$$;

-- _set_status: set a migration's status; where it is a rollback whose status changed, its migration follows.
CREATE OR REPLACE FUNCTION etl_rollback._set_status(p_mig integer, p_status text, p_undone_after bigint)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_was record;
BEGIN
    SELECT status, undone_after_seq, rollback_of INTO STRICT v_was
      FROM etl_rollback.migration WHERE mig = p_mig FOR UPDATE;
    IF v_was.status = p_status AND v_was.undone_after_seq IS NOT DISTINCT FROM p_undone_after THEN
        RETURN;
    END IF;
    UPDATE etl_rollback.migration SET status = p_status, undone_after_seq = p_undone_after WHERE mig = p_mig;
    IF v_was.rollback_of IS NOT NULL AND v_was.status <> p_status THEN
        PERFORM etl_rollback._follow_rollbacks(v_was.rollback_of);
    END IF;
END
$$;

-- _rolled_back: record that the rollback p_rollback_id gave its migration this status and window
-- (p_undone_after: changes with a larger seq are undone; null for none).
CREATE OR REPLACE FUNCTION etl_rollback._rolled_back(p_rollback_id text, p_status text, p_undone_after bigint)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_rollback integer;
    v_of integer;
    v_found_status text;
    v_found_undone_after bigint;
BEGIN
    SELECT r.mig, m.mig, m.status, m.undone_after_seq INTO STRICT v_rollback, v_of, v_found_status, v_found_undone_after
      FROM etl_rollback.migration r JOIN etl_rollback.migration m ON m.mig = r.rollback_of
     WHERE r.migration_id = p_rollback_id
       FOR UPDATE OF m;
    UPDATE etl_rollback.migration
       SET found_status = v_found_status, found_undone_after_seq = v_found_undone_after,
           left_status = p_status, left_undone_after_seq = p_undone_after
     WHERE mig = v_rollback;
    UPDATE etl_rollback.migration SET rolled_back_at = now() WHERE mig = v_of;
    PERFORM etl_rollback._set_status(v_of, p_status, p_undone_after);
END
$$;

REVOKE ALL ON FUNCTION etl_rollback._follow_rollbacks(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._set_status(integer, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._rolled_back(text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION etl_rollback._follow_rollbacks(integer) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback._set_status(integer, text, bigint) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback._rolled_back(text, text, bigint) TO etl_rollback_admin;

/* [jooq ignore stop] */
