//! `--plot FILE.svg|FILE.png`: throughput and latency percentiles over time, one
//! point per second of the run, drawn with plotters.
//!
//! Text needs a font. plotters' default (`ttf`) finds system fonts through
//! font-kit and fontconfig, which a bare server or CI container may lack; we build
//! it with `ab_glyph` instead and register DejaVu Sans, embedded in the binary by
//! the `dejavu` crate (~750 KB), so both formats draw their labels on any machine.
//! SVG text is emitted as `<text>` elements (the viewer renders it; the font is only
//! used to measure it); PNG text is rasterised by ab_glyph.
//!
//! Latency is on a log scale: p50 and p99.9 differ by orders of magnitude once a
//! run saturates the node, and a linear axis would flatten the median to zero.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::report::{Latency, Report};

/// Size of the picture, in pixels.
const SIZE_PX: (u32, u32) = (1200, 800);

/// Share of the height given to the throughput chart, in percent.
const THROUGHPUT_HEIGHT_PERCENT: u32 = 40;

/// The family name charts ask for; registered once with the embedded font.
const FONT_FAMILY: &str = "sans-serif";

static REGISTER_FONT: Once = Once::new();

/// Draws `report`'s intervals into `path` (`.svg` or `.png`, by extension).
pub fn draw(report: &Report, path: &Path) -> Result<(), String> {
    REGISTER_FONT.call_once(|| {
        // The embedded font is a valid TrueType file; a failure would only lose text.
        let _ =
            plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, dejavu::sans::regular());
    });
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => draw_on(SVGBackend::new(path, SIZE_PX).into_drawing_area(), report),
        Some("png") => draw_on(
            BitMapBackend::new(path, SIZE_PX).into_drawing_area(),
            report,
        ),
        _ => Err(format!(
            "{}: the plot file must end in .svg or .png",
            path.display()
        )),
    }
}

/// A latency line: its legend, colour and which percentile it draws.
type LatencySeries = (&'static str, RGBColor, fn(&Latency) -> u64);

fn fail<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn draw_on<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, r: &Report) -> Result<(), String> {
    root.fill(&WHITE).map_err(fail)?;
    let (top, bottom) = root.split_vertically(SIZE_PX.1 * THROUGHPUT_HEIGHT_PERCENT / 100);
    let t_max = r
        .intervals
        .last()
        .map_or(1.0, |i| i.end_s)
        .max(r.duration_s)
        .max(0.001);

    let ops_max = r.intervals.iter().map(|i| i.ops_per_s).fold(1.0, f64::max);
    let caption = format!(
        "sibyl stress {} on {}: {:.0} ops/s, p99 {:.3} ms",
        r.settings.workload,
        r.settings.target,
        r.ops_per_s,
        r.latency.p99_us as f64 / 1000.0
    );
    let mut chart = ChartBuilder::on(&top)
        .caption(caption, (FONT_FAMILY, 22))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..t_max, 0f64..ops_max * 1.1)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("ops/s")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT_FAMILY, 14))
        .draw()
        .map_err(fail)?;
    chart
        .draw_series(LineSeries::new(
            r.intervals.iter().map(|i| (i.end_s, i.ops_per_s)),
            BLUE.stroke_width(2),
        ))
        .map_err(fail)?;

    let series: [LatencySeries; 5] = [
        ("p50", GREEN, |l| l.p50_us),
        ("p90", BLUE, |l| l.p90_us),
        ("p99", RED, |l| l.p99_us),
        ("p99.9", MAGENTA, |l| l.p999_us),
        ("max", BLACK, |l| l.max_us),
    ];
    let ms = |us: u64| us as f64 / 1000.0;
    let positive = || {
        r.intervals
            .iter()
            .flat_map(|i| series.iter().map(move |s| ms((s.2)(&i.latency))))
            .filter(|v| *v > 0.0)
    };
    let lo = positive().fold(f64::INFINITY, f64::min);
    let hi = positive().fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() {
        // Headroom above the highest line for the legend.
        (lo / 1.5, hi * 4.0)
    } else {
        (0.01, 1.0)
    };
    let mut chart = ChartBuilder::on(&bottom)
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..t_max, (lo..hi).log_scale())
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("latency (ms, log)")
        .y_label_formatter(&|v| format!("{v}"))
        .label_style((FONT_FAMILY, 14))
        .draw()
        .map_err(fail)?;
    for (name, color, pick) in series {
        chart
            .draw_series(LineSeries::new(
                r.intervals
                    .iter()
                    .map(|i| (i.end_s, ms(pick(&i.latency))))
                    .filter(|p| p.1 > 0.0),
                color.stroke_width(2),
            ))
            .map_err(fail)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT_FAMILY, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(fail)?;
    root.present().map_err(fail)
}
