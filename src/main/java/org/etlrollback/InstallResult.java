package org.etlrollback;

/**
 * What {@link EtlRollback#install()} did.
 *
 * @param schemaVersion         the version of the {@code etl_rollback} schema now installed
 * @param previousSchemaVersion the version before, or null when etl-rollback was not installed
 * @param scriptsApplied        how many install scripts ran; 0 when the schema was already up to date
 */
public record InstallResult(String schemaVersion, String previousSchemaVersion, int scriptsApplied) {

    /** True when etl-rollback was not installed before. */
    public boolean freshInstall() {
        return previousSchemaVersion == null;
    }

    /** True when nothing had to be done. */
    public boolean upToDate() {
        return scriptsApplied == 0;
    }
}
