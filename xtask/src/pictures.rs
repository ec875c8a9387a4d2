//! The sample catalog's pictures, drawn here rather than kept as photos in the repository: one
//! 4:3 PNG per product (the storefront's picture box), a still life of its kind (a bag of beans, a tea tin, a mug, a kettle, a
//! box of biscuits, a wrapped gift) in colours taken from its name, so no two products look alike
//! and none is a letter tile.
//!
//! Shapes are signed distance functions (negative inside); a pixel takes each shape's colour in
//! proportion to how much of the pixel it covers, which smooths every edge without supersampling.

/// Width and height of a picture, in pixels.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 480;
/// Each object is drawn on a square stage of `HEIGHT`, centred in the picture.
const STAGE_LEFT: f32 = ((WIDTH - HEIGHT) / 2) as f32;

#[derive(Clone, Copy)]
struct Rgb(f32, f32, f32);

impl Rgb {
    /// From hue (degrees), saturation and lightness (0 to 1).
    fn hsl(h: f32, s: f32, l: f32) -> Rgb {
        let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
        let hp = (h.rem_euclid(360.0)) / 60.0;
        let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
        let (r, g, b) = match hp as u32 {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        let m = l - c / 2.0;
        Rgb(r + m, g + m, b + m)
    }

    fn mix(self, other: Rgb, t: f32) -> Rgb {
        Rgb(
            self.0 + (other.0 - self.0) * t,
            self.1 + (other.1 - self.1) * t,
            self.2 + (other.2 - self.2) * t,
        )
    }
}

/// A shape: its signed distance at a point, and the box outside which it is surely absent.
struct Shape {
    distance: Box<dyn Fn(f32, f32) -> f32>,
    /// Left, top, right, bottom.
    bounds: (f32, f32, f32, f32),
}

impl Shape {
    fn new(bounds: (f32, f32, f32, f32), distance: impl Fn(f32, f32) -> f32 + 'static) -> Shape {
        Shape {
            distance: Box::new(distance),
            bounds,
        }
    }
}

fn circle(cx: f32, cy: f32, r: f32) -> Shape {
    Shape::new((cx - r, cy - r, cx + r, cy + r), move |x, y| {
        ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() - r
    })
}

/// An ellipse (a close approximation of its distance, exact on the axes).
fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32) -> Shape {
    Shape::new((cx - rx, cy - ry, cx + rx, cy + ry), move |x, y| {
        let (u, v) = ((x - cx) / rx, (y - cy) / ry);
        ((u * u + v * v).sqrt() - 1.0) * rx.min(ry)
    })
}

/// A rectangle of half-size `hw` x `hh` with corners rounded by `r`.
fn rounded(cx: f32, cy: f32, hw: f32, hh: f32, r: f32) -> Shape {
    Shape::new((cx - hw, cy - hh, cx + hw, cy + hh), move |x, y| {
        let (qx, qy) = ((x - cx).abs() - hw + r, (y - cy).abs() - hh + r);
        let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
        outside + qx.max(qy).min(0.0) - r
    })
}

/// A convex polygon, its corners clockwise on screen (y down).
fn polygon(points: Vec<(f32, f32)>) -> Shape {
    let bounds = points.iter().fold(
        (f32::MAX, f32::MAX, f32::MIN, f32::MIN),
        |(l, t, r, b), &(x, y)| (l.min(x), t.min(y), r.max(x), b.max(y)),
    );
    Shape::new(bounds, move |x, y| {
        let mut d = f32::MIN;
        for (i, &(ax, ay)) in points.iter().enumerate() {
            let (bx, by) = points[(i + 1) % points.len()];
            let (ex, ey) = (bx - ax, by - ay);
            let len = (ex * ex + ey * ey).sqrt();
            // Positive on the outer side of the edge.
            d = d.max(((x - ax) * ey - (y - ay) * ex) / len);
        }
        d
    })
}

/// A band of `width` along the outline of `shape`.
fn outline(shape: Shape, width: f32) -> Shape {
    let (l, t, r, b) = shape.bounds;
    let w = width / 2.0;
    let d = shape.distance;
    Shape::new((l - w, t - w, r + w, b + w), move |x, y| d(x, y).abs() - w)
}

/// The part of `shape` that is inside `keep` too.
fn clip(shape: Shape, keep: Shape) -> Shape {
    let (a, b) = (shape.bounds, keep.bounds);
    let bounds = (a.0.max(b.0), a.1.max(b.1), a.2.min(b.2), a.3.min(b.3));
    let (d, k) = (shape.distance, keep.distance);
    Shape::new(bounds, move |x, y| d(x, y).max(k(x, y)))
}

/// The picture being drawn: shapes painted in order over a background.
struct Canvas {
    pixels: Vec<Rgb>,
}

impl Canvas {
    /// A soft vertical wash from `top` to `bottom`.
    fn new(top: Rgb, bottom: Rgb) -> Canvas {
        let (w, h) = (WIDTH as usize, HEIGHT as usize);
        let mut pixels = Vec::with_capacity(w * h);
        for y in 0..h {
            let c = top.mix(bottom, y as f32 / h as f32);
            pixels.extend(std::iter::repeat_n(c, w));
        }
        Canvas { pixels }
    }

    /// Paints `shape` in `colour` at `opacity` over what is there.
    fn fill(&mut self, shape: &Shape, colour: Rgb, opacity: f32) {
        let (w, h) = (WIDTH as usize, HEIGHT as usize);
        let (l, t, r, b) = shape.bounds;
        // One pixel around the box: the edge's smoothing reaches that far.
        let span = |lo: f32, hi: f32, n: usize| {
            (lo.floor().max(1.0) as usize - 1)..((hi.ceil().max(0.0) as usize + 1).min(n))
        };
        for y in span(t, b, h) {
            for x in span(l + STAGE_LEFT, r + STAGE_LEFT, w) {
                let (sx, sy) = (x as f32 + 0.5 - STAGE_LEFT, y as f32 + 0.5);
                let cover = (0.5 - (shape.distance)(sx, sy)).clamp(0.0, 1.0);
                if cover > 0.0 {
                    let px = &mut self.pixels[y * w + x];
                    *px = px.mix(colour, cover * opacity);
                }
            }
        }
    }

    fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Best);
        let mut writer = encoder.write_header().expect("a PNG header in memory");
        let bytes: Vec<u8> = self
            .pixels
            .iter()
            .flat_map(|c| [c.0, c.1, c.2])
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        writer
            .write_image_data(&bytes)
            .expect("pixels of the declared size");
        writer.finish().expect("a PNG in memory");
        out
    }
}

/// A number from the product's name, the same on every run (FNV-1a).
fn seed(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The picture of a product called `name` in `category`, as PNG bytes.
pub fn draw(name: &str, category: &str) -> Vec<u8> {
    let s = seed(name);
    let hue = (s % 360) as f32;
    let lean = ((s >> 9) % 40) as f32 - 20.0;
    let mut c = Canvas::new(
        Rgb::hsl(hue + 30.0, 0.35, 0.93),
        Rgb::hsl(hue + 10.0, 0.30, 0.82),
    );
    // The table the object stands on, and its shadow.
    c.fill(
        &rounded(240.0, 440.0, 400.0, 60.0, 0.0),
        Rgb::hsl(hue + 10.0, 0.20, 0.72),
        1.0,
    );
    c.fill(
        &ellipse(240.0, 402.0, 150.0, 22.0),
        Rgb(0.2, 0.15, 0.1),
        0.25,
    );
    let accent = Rgb::hsl(hue, 0.55, 0.45);
    let light = Rgb::hsl(hue, 0.45, 0.88);
    match category {
        "coffee" => bag(&mut c, accent, light, lean),
        "tea" => tin(&mut c, accent, light, lean),
        "mugs" => mug(&mut c, accent, light),
        "equipment" => kettle(&mut c, accent, lean),
        "snacks" => biscuits(&mut c, accent, light),
        _ => gift(&mut c, accent, light),
    }
    c.png()
}

/// A kraft bag of beans with a label and a bean on it.
fn bag(c: &mut Canvas, accent: Rgb, light: Rgb, lean: f32) {
    let kraft = Rgb(0.66, 0.50, 0.34);
    c.fill(
        &polygon(vec![
            (150.0, 110.0),
            (330.0, 110.0),
            (350.0, 400.0),
            (130.0, 400.0),
        ]),
        kraft,
        1.0,
    );
    c.fill(
        &rounded(240.0, 112.0, 96.0, 20.0, 6.0),
        kraft.mix(Rgb(0.3, 0.2, 0.1), 0.35),
        1.0,
    );
    c.fill(&rounded(240.0, 260.0, 78.0, 78.0, 14.0), light, 1.0);
    c.fill(&rounded(240.0, 320.0, 78.0, 18.0, 0.0), accent, 1.0);
    let bean = Rgb(0.32, 0.18, 0.1);
    c.fill(&ellipse(240.0 + lean / 4.0, 245.0, 30.0, 40.0), bean, 1.0);
    c.fill(
        &ellipse(240.0 + lean / 4.0, 245.0, 4.0, 32.0),
        bean.mix(Rgb(0.9, 0.75, 0.55), 0.5),
        1.0,
    );
}

/// A round tea tin with its lid and a leaf on the label.
fn tin(c: &mut Canvas, accent: Rgb, light: Rgb, lean: f32) {
    c.fill(&rounded(240.0, 270.0, 100.0, 130.0, 18.0), accent, 1.0);
    c.fill(
        &rounded(240.0, 150.0, 108.0, 22.0, 10.0),
        accent.mix(Rgb(0.0, 0.0, 0.0), 0.3),
        1.0,
    );
    c.fill(&rounded(240.0, 285.0, 100.0, 60.0, 0.0), light, 1.0);
    let leaf = Rgb(0.25, 0.5, 0.25);
    c.fill(&ellipse(240.0 + lean / 2.0, 285.0, 22.0, 44.0), leaf, 1.0);
    c.fill(
        &rounded(240.0 + lean / 2.0, 285.0, 2.0, 38.0, 2.0),
        leaf.mix(light, 0.6),
        1.0,
    );
}

/// A mug with coffee in it.
fn mug(c: &mut Canvas, accent: Rgb, light: Rgb) {
    // The body, drawn next, hides the ring's left half.
    c.fill(&outline(circle(335.0, 270.0, 48.0), 22.0), accent, 1.0);
    c.fill(&rounded(240.0, 280.0, 100.0, 120.0, 26.0), accent, 1.0);
    c.fill(
        &ellipse(240.0, 165.0, 100.0, 22.0),
        accent.mix(light, 0.3),
        1.0,
    );
    c.fill(
        &ellipse(240.0, 168.0, 86.0, 16.0),
        Rgb(0.3, 0.17, 0.09),
        1.0,
    );
    c.fill(&rounded(240.0, 300.0, 100.0, 12.0, 0.0), light, 1.0);
}

/// A pour-over kettle: round body, lid and knob, a long spout and an arched handle.
fn kettle(c: &mut Canvas, accent: Rgb, lean: f32) {
    let steel = Rgb(0.72, 0.74, 0.78);
    let dark = Rgb(0.2, 0.2, 0.22);
    c.fill(
        &polygon(vec![
            (300.0, 300.0),
            (398.0, 170.0 + lean / 2.0),
            (410.0, 178.0 + lean / 2.0),
            (320.0, 330.0),
        ]),
        steel.mix(dark, 0.2),
        1.0,
    );
    let arch = outline(ellipse(240.0, 230.0, 90.0, 90.0), 18.0);
    c.fill(
        &clip(arch, rounded(240.0, 180.0, 200.0, 60.0, 0.0)),
        dark,
        1.0,
    );
    c.fill(&ellipse(240.0, 310.0, 115.0, 95.0), steel, 1.0);
    c.fill(&rounded(240.0, 310.0, 115.0, 10.0, 0.0), accent, 1.0);
    c.fill(
        &rounded(240.0, 222.0, 60.0, 10.0, 5.0),
        steel.mix(dark, 0.3),
        1.0,
    );
    c.fill(&circle(240.0, 205.0, 12.0), dark, 1.0);
}

/// An open box of biscuits.
fn biscuits(c: &mut Canvas, accent: Rgb, light: Rgb) {
    c.fill(&rounded(240.0, 320.0, 150.0, 80.0, 10.0), accent, 1.0);
    let biscuit = Rgb(0.82, 0.62, 0.36);
    let chip = Rgb(0.28, 0.16, 0.08);
    for (i, x) in [150.0f32, 240.0, 330.0].into_iter().enumerate() {
        let y = 225.0 + (i as f32 - 1.0).abs() * 14.0;
        c.fill(&circle(x, y, 52.0), biscuit, 1.0);
        for (dx, dy) in [
            (-18.0, -10.0),
            (14.0, -20.0),
            (4.0, 12.0),
            (-10.0, 24.0),
            (24.0, 16.0),
        ] {
            c.fill(&circle(x + dx, y + dy, 6.0), chip, 1.0);
        }
    }
    c.fill(&rounded(240.0, 330.0, 150.0, 70.0, 10.0), accent, 1.0);
    c.fill(&rounded(240.0, 330.0, 90.0, 26.0, 13.0), light, 1.0);
}

/// A wrapped gift with a ribbon and a bow.
fn gift(c: &mut Canvas, accent: Rgb, light: Rgb) {
    c.fill(&rounded(240.0, 300.0, 120.0, 100.0, 8.0), accent, 1.0);
    c.fill(
        &rounded(240.0, 200.0, 132.0, 24.0, 6.0),
        accent.mix(light, 0.25),
        1.0,
    );
    c.fill(&rounded(240.0, 290.0, 16.0, 112.0, 0.0), light, 1.0);
    c.fill(&rounded(240.0, 200.0, 132.0, 12.0, 0.0), light, 0.7);
    c.fill(&ellipse(208.0, 162.0, 34.0, 20.0), light, 1.0);
    c.fill(&ellipse(272.0, 162.0, 34.0, 20.0), light, 1.0);
    c.fill(&circle(240.0, 170.0, 14.0), light.mix(accent, 0.3), 1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn every_kind_is_a_picture_of_many_colours_in_the_storefronts_shape() {
        for category in ["coffee", "tea", "mugs", "equipment", "snacks", "gifts"] {
            let bytes = draw("Kenya Nyeri AA", category);
            let (info, pixels) = decode(&bytes);
            assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
            let colours: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
            assert!(colours.len() > 200, "{category}: {} colours", colours.len());
            // Small enough to be a product picture on a phone.
            assert!(bytes.len() < 120_000, "{category}: {} bytes", bytes.len());
        }
    }

    #[test]
    fn products_of_one_kind_differ_and_each_is_drawn_the_same_every_time() {
        let a = draw("Colombia Huila", "coffee");
        assert_eq!(a, draw("Colombia Huila", "coffee"));
        assert_ne!(a, draw("Ethiopia Yirgacheffe", "coffee"));
        assert_ne!(a, draw("Colombia Huila", "tea"));
    }
}
