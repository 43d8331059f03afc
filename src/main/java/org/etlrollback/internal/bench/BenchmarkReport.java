package org.etlrollback.internal.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The figures of one benchmark run: ratios of timings taken side by side in the run, and the log's size.
 *
 * @param growth per-change rollback time in microseconds, by scale
 * @param timingsMs the median timings behind the ratios, in milliseconds, by name
 */
public record BenchmarkReport(double scale, double captureOverheadUntagged, double captureOverheadTagged,
                              double captureOverheadRowAtATime, double logBytesPerChange, double rollbackRatio,
                              double rollbackRatioRowAtATime, double selectiveIndependence,
                              Map<Double, Double> growth, double snapshotRestoreRatio, double naiveReplayRatio,
                              boolean exact, int repetitions, Map<String, Double> timingsMs) {

    /** A figure, its target and whether a lower value is better (all are). */
    public record Figure(String key, String label, double value, double target) {
        public boolean met() {
            return value <= target;
        }
    }

    public BenchmarkReport {
        growth = Map.copyOf(growth);
        timingsMs = Map.copyOf(timingsMs);
    }

    /** The figures held to a target in BENCHMARK.md, in its order. */
    public java.util.List<Figure> figures() {
        return java.util.List.of(
                new Figure("capture_overhead_untagged", "capture, untagged (W1)", captureOverheadUntagged, 1.05),
                new Figure("capture_overhead_tagged", "capture, tagged (W1)", captureOverheadTagged, 1.5),
                new Figure("capture_overhead_row_at_a_time", "capture, row at a time (W2)", captureOverheadRowAtATime,
                        1.4),
                new Figure("log_bytes_per_change", "log bytes per change / 100", logBytesPerChange / 100, 1.5),
                new Figure("rollback_ratio", "rollback / untracked (W1)", rollbackRatio, 1.0),
                new Figure("rollback_ratio_row_at_a_time", "rollback / untracked (W2)", rollbackRatioRowAtATime, 0.8),
                new Figure("selective_independence", "selective rollback among ten (W3)", selectiveIndependence, 1.2),
                new Figure("growth", "per-change rollback, largest / smallest scale", growthRatio(), 1.5));
    }

    /** Per-change rollback time at the largest scale over that at the smallest. */
    public double growthRatio() {
        double smallest = growth.keySet().stream().mapToDouble(Double::doubleValue).min().orElse(0);
        double largest = growth.keySet().stream().mapToDouble(Double::doubleValue).max().orElse(0);
        return growth.isEmpty() || growth.get(smallest) == 0 ? 0 : growth.get(largest) / growth.get(smallest);
    }

    /** The JSON document of BENCHMARK.md's keys, plus the timings. */
    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("scale", scale);
        json.put("capture_overhead_untagged", round(captureOverheadUntagged));
        json.put("capture_overhead_tagged", round(captureOverheadTagged));
        json.put("capture_overhead_row_at_a_time", round(captureOverheadRowAtATime));
        json.put("log_bytes_per_change", round(logBytesPerChange));
        json.put("rollback_ratio", round(rollbackRatio));
        json.put("rollback_ratio_row_at_a_time", round(rollbackRatioRowAtATime));
        json.put("selective_independence", round(selectiveIndependence));
        Map<String, Object> growthJson = new LinkedHashMap<>();
        growth.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> growthJson.put(String.valueOf(e.getKey()), round(e.getValue())));
        json.put("growth", growthJson);
        json.put("growth_unit", "microseconds per changed row");
        json.put("snapshot_restore_ratio", round(snapshotRestoreRatio));
        json.put("naive_replay_ratio", round(naiveReplayRatio));
        json.put("naive_replay_extrapolated", true);
        json.put("exact", exact);
        json.put("repetitions", repetitions);
        Map<String, Object> timings = new LinkedHashMap<>();
        timingsMs.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> timings.put(e.getKey(), round(e.getValue())));
        json.put("timings_ms", timings);
        return json;
    }

    private static double round(double value) {
        return Math.round(value * 1000) / 1000.0;
    }
}
