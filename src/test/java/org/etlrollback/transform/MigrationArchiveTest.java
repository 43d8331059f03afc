package org.etlrollback.transform;

import static org.assertj.core.api.Assertions.assertThat;

import org.etlrollback.transform.RollbackConfig.ArchiveCompression;
import org.junit.jupiter.api.Test;

class MigrationArchiveTest {

    @Test
    void fileNameIsTheMigrationIdWhenItIsSafe() {
        assertThat(MigrationArchive.fileName("PatientTransformer_1640995200", ArchiveCompression.GZIP))
                .isEqualTo("PatientTransformer_1640995200.jsonl.gz");
        assertThat(MigrationArchive.fileName("load-2026.11", ArchiveCompression.NONE))
                .isEqualTo("load-2026.11.jsonl");
    }

    @Test
    void unsafeCharactersAreReplacedAndIdsKeptApart() {
        String rollback = MigrationArchive.fileName("rollback:load/1", ArchiveCompression.GZIP);
        String lookalike = MigrationArchive.fileName("rollback_load_1", ArchiveCompression.GZIP);

        assertThat(rollback).matches("rollback_load_1-[0-9a-f]{8}\\.jsonl\\.gz");
        assertThat(rollback).isNotEqualTo(lookalike);
        assertThat(MigrationArchive.fileName("../etc", ArchiveCompression.NONE)).matches("_\\._etc-[0-9a-f]{8}\\.jsonl");
        assertThat(MigrationArchive.fileName(".hidden", ArchiveCompression.NONE)).matches("_hidden-[0-9a-f]{8}\\.jsonl");
    }
}
