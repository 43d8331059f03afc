-- etl-rollback: the status of a migration after its rollbacks.
--
-- A migration's status and undone_after_seq say which of its changes are undone: none (active), all
-- (rolled_back, 0), or some (partially_rolled_back): all of those with a seq above undone_after_seq, and of
-- the rest an unknown part, which a rollback reads again and finds done where it is; with no undone_after_seq,
-- any part. A rollback rollback:X undoes X's changes in a window of seq, recorded on its own row. Undoing the
-- rollback (fully) puts the changes of that window back in force; undoing that undo undoes them again; and so
-- on along any chain, each step applied to X's state as it stands then. A rollback and the --sql script it
-- writes both record their outcome through _rolled_back, so that either follows the chain the same way.

/* [jooq ignore start] */

-- _after_undoing: a migration's status and undone_after_seq once its changes in the window (p_from, p_upto]
-- (p_upto null: no bound) are undone, all of them (p_all) or some; p_from null for a window not known.
CREATE OR REPLACE FUNCTION etl_rollback._after_undoing(p_status text, p_after bigint, p_from bigint,
                                                       p_upto bigint, p_all boolean,
                                                       OUT status text, OUT undone_after_seq bigint)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF p_status = 'rolled_back' THEN
        status := 'rolled_back';
        undone_after_seq := p_after;
    ELSIF p_from IS NULL OR NOT p_all THEN
        -- some undone, which ones not known: what was known undone stays so
        status := 'partially_rolled_back';
        undone_after_seq := CASE WHEN p_status = 'partially_rolled_back' THEN p_after END;
    ELSIF p_upto IS NULL OR (p_after IS NOT NULL AND p_upto >= p_after) THEN
        -- the window reaches what was undone before, or has no bound: everything above its start is undone
        undone_after_seq := CASE WHEN p_after IS NULL THEN p_from ELSE least(p_from, p_after) END;
        status := CASE WHEN undone_after_seq = 0 THEN 'rolled_back' ELSE 'partially_rolled_back' END;
    ELSE
        -- a window below what was undone before, with a gap between them (or nothing undone above it)
        status := 'partially_rolled_back';
        undone_after_seq := p_after;
    END IF;
END
$$;

-- _after_redoing: a migration's status and undone_after_seq once its changes in the window (p_from, p_upto]
-- are back in force, as when the rollback that undid them is undone; p_from null for a window not known.
CREATE OR REPLACE FUNCTION etl_rollback._after_redoing(p_status text, p_after bigint, p_from bigint,
                                                       p_upto bigint,
                                                       OUT status text, OUT undone_after_seq bigint)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF p_status = 'active' THEN
        status := 'active';
    ELSIF p_from IS NULL THEN
        status := 'partially_rolled_back';
    ELSIF p_status = 'rolled_back' AND p_upto IS NULL AND p_from = 0 THEN
        status := 'active';
    ELSIF p_status = 'rolled_back' AND p_upto IS NULL THEN
        -- undone below the window only: not above anything
        status := 'partially_rolled_back';
    ELSIF p_status = 'rolled_back' THEN
        status := 'partially_rolled_back';
        undone_after_seq := p_upto;
    ELSIF p_after IS NULL OR p_upto IS NULL OR p_upto > p_after THEN
        -- the window reaches into what was known undone: what stays known undone is above its end, if bounded
        status := 'partially_rolled_back';
        undone_after_seq := CASE WHEN p_after IS NOT NULL AND p_upto IS NOT NULL THEN p_upto END;
    ELSE
        -- the window lies in the part not known undone
        status := 'partially_rolled_back';
        undone_after_seq := p_after;
    END IF;
END
$$;

-- _set_status: set a migration's status and window. Where it is a rollback that went out of force, came back
-- into force, or went out of it in part, the migration it undid follows.
CREATE OR REPLACE FUNCTION etl_rollback._set_status(p_mig integer, p_status text, p_undone_after bigint)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_was record;
    v_of record;
    v_status text;
    v_after bigint;
BEGIN
    SELECT status, undone_after_seq, rollback_of, undid_after_seq, undid_upto_seq, undid_all INTO STRICT v_was
      FROM etl_rollback.migration WHERE mig = p_mig FOR UPDATE;
    IF v_was.status = p_status AND v_was.undone_after_seq IS NOT DISTINCT FROM p_undone_after THEN
        RETURN;
    END IF;
    UPDATE etl_rollback.migration SET status = p_status, undone_after_seq = p_undone_after WHERE mig = p_mig;
    IF v_was.rollback_of IS NULL OR v_was.status = p_status THEN
        RETURN;
    END IF;
    SELECT status, undone_after_seq INTO STRICT v_of
      FROM etl_rollback.migration WHERE mig = v_was.rollback_of FOR UPDATE;
    IF p_status = 'rolled_back' THEN
        SELECT * INTO v_status, v_after FROM etl_rollback._after_redoing(v_of.status, v_of.undone_after_seq,
            v_was.undid_after_seq, v_was.undid_upto_seq);
        IF NOT EXISTS (SELECT FROM etl_rollback.migration
                        WHERE rollback_of = v_was.rollback_of AND status <> 'rolled_back') THEN
            v_status := 'active';
            v_after := NULL;
        END IF;
    ELSIF v_was.status = 'rolled_back' THEN
        SELECT * INTO v_status, v_after FROM etl_rollback._after_undoing(v_of.status, v_of.undone_after_seq,
            v_was.undid_after_seq, v_was.undid_upto_seq, v_was.undid_all AND p_status = 'active');
    ELSIF p_status = 'partially_rolled_back' THEN
        -- in force now in part only: some of its window is back in force, which part not known
        SELECT * INTO v_status, v_after FROM etl_rollback._after_redoing(v_of.status, v_of.undone_after_seq,
            v_was.undid_after_seq, v_was.undid_upto_seq);
        SELECT * INTO v_status, v_after FROM etl_rollback._after_undoing(v_status, v_after,
            v_was.undid_after_seq, v_was.undid_upto_seq, false);
    ELSE
        SELECT * INTO v_status, v_after FROM etl_rollback._after_undoing(v_of.status, v_of.undone_after_seq,
            v_was.undid_after_seq, v_was.undid_upto_seq, v_was.undid_all);
    END IF;
    PERFORM etl_rollback._set_status(v_was.rollback_of, v_status, v_after);
END
$$;

-- _start_rollback: register the rollback p_rollback_id of the migration p_of, in the transaction that makes
-- it; an id taken already (by another rollback, or by a script run before) is refused.
CREATE OR REPLACE FUNCTION etl_rollback._start_rollback(p_rollback_id text, p_of text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF EXISTS (SELECT FROM etl_rollback.migration WHERE migration_id = p_rollback_id) THEN
        RAISE EXCEPTION 'etl_rollback: the rollback id % is taken already: this rollback has been run before, or'
            ' another one took the id; nothing was changed', quote_literal(p_rollback_id) USING ERRCODE = '55000',
            HINT = 'Roll back with etl-rollback itself, or write a new script.';
    END IF;
    INSERT INTO etl_rollback.migration (migration_id, name, rollback_of)
        SELECT p_rollback_id, 'rollback of ' || migration_id, mig
          FROM etl_rollback.migration WHERE migration_id = p_of;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'etl_rollback: migration % is not in the log', quote_literal(p_of) USING ERRCODE = '55000';
    END IF;
END
$$;

-- _rolled_back: record that the rollback p_rollback_id undid its migration's changes in the window
-- (p_from, p_upto] (p_upto null: no bound), all of them or, where it skipped conflicting rows, not all.
CREATE OR REPLACE FUNCTION etl_rollback._rolled_back(p_rollback_id text, p_from bigint, p_upto bigint,
                                                     p_all boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_rollback integer;
    v_of record;
    v_status text;
    v_after bigint;
BEGIN
    SELECT r.mig INTO STRICT v_rollback FROM etl_rollback.migration r WHERE r.migration_id = p_rollback_id;
    SELECT m.mig, m.status, m.undone_after_seq INTO STRICT v_of
      FROM etl_rollback.migration r JOIN etl_rollback.migration m ON m.mig = r.rollback_of
     WHERE r.mig = v_rollback
       FOR UPDATE OF m;
    UPDATE etl_rollback.migration SET undid_after_seq = p_from, undid_upto_seq = p_upto, undid_all = p_all
     WHERE mig = v_rollback;
    UPDATE etl_rollback.migration SET rolled_back_at = now() WHERE mig = v_of.mig;
    SELECT * INTO v_status, v_after
      FROM etl_rollback._after_undoing(v_of.status, v_of.undone_after_seq, p_from, p_upto, p_all);
    PERFORM etl_rollback._set_status(v_of.mig, v_status, v_after);
END
$$;

REVOKE ALL ON FUNCTION etl_rollback._after_undoing(text, bigint, bigint, bigint, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._after_redoing(text, bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._set_status(integer, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._start_rollback(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._rolled_back(text, bigint, bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION etl_rollback._after_undoing(text, bigint, bigint, bigint, boolean) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback._after_redoing(text, bigint, bigint, bigint) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback._set_status(integer, text, bigint) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback._start_rollback(text, text) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback._rolled_back(text, bigint, bigint, boolean) TO etl_rollback_admin;

/* [jooq ignore stop] */
