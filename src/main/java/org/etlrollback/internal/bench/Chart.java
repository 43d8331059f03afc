package org.etlrollback.internal.bench;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An SVG chart of a benchmark report: each figure as a bar against its target, and the growth series.
 */
public final class Chart {
    private static final int WIDTH = 760;
    private static final int ROW = 34;
    private static final int LEFT = 290;
    private static final int BAR_WIDTH = 380;

    private Chart() {
    }

    public static String svg(BenchmarkReport report) {
        List<BenchmarkReport.Figure> figures = report.figures();
        double max = Math.max(2.0, figures.stream().mapToDouble(f -> Math.max(f.value(), f.target())).max()
                .orElse(2.0) * 1.1);
        int growthTop = 70 + figures.size() * ROW + 30;
        int height = growthTop + 220;
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"13\">%n", WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">"
                + "etl-rollback benchmark, scale %s%s</text>%n", report.scale(), report.exact() ? "" : " (NOT EXACT)"));
        svg.append("<text x=\"10\" y=\"44\" fill=\"#555\">ratios, lower is better; the black mark is the target;"
                + " green: target met, red: missed</text>\n");
        int y = 70;
        for (BenchmarkReport.Figure f : figures) {
            double w = BAR_WIDTH * f.value() / max;
            double t = LEFT + BAR_WIDTH * f.target() / max;
            svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">%s</text>%n", y + 17, escape(f.label())));
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"22\" fill=\"%s\"/>%n",
                    LEFT, y + 2, w, f.met() ? "#4caf50" : "#e53935"));
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\""
                    + " stroke-width=\"3\"/>%n", t, y - 1, t, y + 27));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%.2f (target %.2f)</text>%n",
                    LEFT + w + 6, y + 17, f.value(), f.target()));
            y += ROW;
        }
        growth(svg, report.growth(), growthTop);
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static void growth(StringBuilder svg, Map<Double, Double> growth, int top) {
        svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">growth: rollback time"
                + " per changed row (microseconds) by scale</text>%n", top));
        List<Map.Entry<Double, Double>> points = growth.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .toList();
        if (points.isEmpty()) {
            return;
        }
        double maxY = points.stream().mapToDouble(Map.Entry::getValue).max().orElse(1) * 1.2;
        int x0 = LEFT;
        int y0 = top + 170;
        int plotHeight = 140;
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>%n",
                x0, y0, x0 + BAR_WIDTH, y0));
        StringBuilder path = new StringBuilder();
        for (int i = 0; i < points.size(); i++) {
            double x = x0 + (points.size() == 1 ? BAR_WIDTH / 2.0 : BAR_WIDTH * i / (double) (points.size() - 1));
            double y = y0 - plotHeight * points.get(i).getValue() / maxY;
            path.append(i == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", x, y));
            svg.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1e88e5\"/>%n", x, y));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f us</text>%n",
                    x, y - 8, points.get(i).getValue()));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">scale %s</text>%n",
                    x, y0 + 18, points.get(i).getKey()));
        }
        svg.append(String.format(Locale.ROOT, "<path d=\"%s\" fill=\"none\" stroke=\"#1e88e5\" stroke-width=\"2\"/>%n",
                path));
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
