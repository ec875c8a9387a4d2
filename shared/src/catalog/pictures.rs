//! Product pictures: what an admin's upload becomes before a shopper sees it. An upload lands under
//! a private prefix; the resize function decodes it (refusing anything that is not a JPEG, PNG or
//! WebP of at most [`MAX_PIXELS`]), turns it upright, and writes a WebP per width in [`WIDTHS`] that
//! is narrower than the upload, plus the upload itself. Pure: bytes in, renditions out.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, imageops::FilterType};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::{
    error::{ApiError, ApiResult},
    types::{ProductId, UserId},
};

/// Largest picture accepted, in pixels: a decoded 40 MP image is 160 MB of RGBA.
pub const MAX_PIXELS: u64 = 40_000_000;
/// The widths served to `srcset` (and an upload's own width, when it is narrower than the widest).
pub const WIDTHS: [u32; 3] = [320, 640, 1280];
/// The width a client without `srcset` gets (`image_url`).
pub const DEFAULT_WIDTH: u32 = 640;
/// Where uploads land: private, read only by the resize function, expired by the bucket.
pub const UPLOAD_PREFIX: &str = "uploads/";
/// Where pictures are served from (public through the CDN).
pub const PICTURE_PREFIX: &str = "products/";
/// WebP quality: visually clean product photos at a fifth of the JPEG's bytes.
const WEBP_QUALITY: f32 = 80.0;

/// Image types an admin may upload, with the file extension each is stored under.
pub const IMAGE_TYPES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
];

/// Why an upload is never served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not an image of an allowed type (JPEG, PNG or WebP)")]
    NotAnImage,
    #[error("a {found} file uploaded as {declared}")]
    WrongType {
        declared: &'static str,
        found: &'static str,
    },
    #[error("{width}x{height} is more than {MAX_PIXELS} pixels")]
    TooLarge { width: u32, height: u32 },
    #[error("cannot be decoded: {0}")]
    Undecodable(String),
}

/// The object key an upload is made to: `uploads/<product>/<admin>/<upload>.<ext>`. The key itself
/// carries who uploaded what for which product, so the resize function needs nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadKey {
    pub product: ProductId,
    pub admin: UserId,
    pub upload: Ulid,
    pub ext: &'static str,
}

impl UploadKey {
    /// A fresh key for `admin`'s upload of a `content_type` file; the content type is checked
    /// against [`IMAGE_TYPES`] and its canonical spelling returned.
    pub fn new(
        product: &ProductId,
        admin: &UserId,
        content_type: &str,
    ) -> ApiResult<(Self, &'static str)> {
        let ct = content_type.trim().to_ascii_lowercase();
        let (mime, ext) = IMAGE_TYPES.iter().find(|(m, _)| *m == ct).ok_or_else(|| {
            ApiError::invalid_field(
                "content_type",
                "must be image/jpeg, image/png or image/webp",
            )
        })?;
        let key = UploadKey {
            product: product.clone(),
            admin: admin.clone(),
            upload: Ulid::new(),
            ext,
        };
        Ok((key, mime))
    }

    /// Reads a key the bucket reported; anything else (another prefix, a forged shape) is `None`.
    pub fn parse(key: &str) -> Option<Self> {
        let rest = key.strip_prefix(UPLOAD_PREFIX)?;
        let mut parts = rest.split('/');
        let (product, admin, file) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let product = ProductId::parse("key", product).ok()?;
        let admin_ok = !admin.is_empty()
            && admin.len() <= 64
            && admin
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let (upload, ext) = file.split_once('.')?;
        let ext = IMAGE_TYPES.iter().find(|(_, e)| *e == ext)?.1;
        let upload = Ulid::from_string(upload).ok()?;
        admin_ok.then(|| UploadKey {
            product,
            admin: UserId::from_trusted(admin),
            upload,
            ext,
        })
    }

    pub fn key(&self) -> String {
        format!(
            "{UPLOAD_PREFIX}{}/{}/{}.{}",
            self.product, self.admin, self.upload, self.ext
        )
    }

    /// The folder the upload's renditions are written to: a new folder per upload, so every
    /// object in it can be cached forever.
    pub fn folder(&self) -> String {
        format!("{PICTURE_PREFIX}{}/{}", self.product, self.upload)
    }

    fn content_type(&self) -> &'static str {
        IMAGE_TYPES
            .iter()
            .find(|(_, e)| *e == self.ext)
            .map_or("application/octet-stream", |(m, _)| m)
    }
}

/// One width of a picture, as `srcset` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub url: String,
    pub width: u32,
}

/// A product's picture: the upload it came from (later uploads win), its upright size and its
/// widths, narrowest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picture {
    pub upload: Ulid,
    pub width: u32,
    pub height: u32,
    pub sources: Vec<Source>,
    /// The upload as it was sent.
    pub original: String,
}

impl Picture {
    /// The picture for a client that takes one URL: [`DEFAULT_WIDTH`], or the widest below it.
    pub fn default_url(&self) -> &str {
        self.sources
            .iter()
            .rev()
            .find(|s| s.width <= DEFAULT_WIDTH)
            .or(self.sources.first())
            .map_or(&self.original, |s| &s.url)
    }
}

/// Whether `upload` should become the picture of a product that shows `current`: only an upload
/// made after the current picture's (events come late, twice, or out of order).
pub fn supersedes(upload: &UploadKey, current: Option<&Picture>) -> bool {
    current.is_none_or(|p| p.upload < upload.upload)
}

/// An object to write: its name within the upload's folder, its type and its bytes.
#[derive(Debug)]
pub struct Rendition {
    pub name: String,
    pub content_type: &'static str,
    pub width: u32,
    pub bytes: Vec<u8>,
}

/// What an accepted upload becomes: its upright size and the objects to write.
#[derive(Debug)]
pub struct Rendered {
    pub width: u32,
    pub height: u32,
    pub renditions: Vec<Rendition>,
}

impl Rendered {
    /// The picture these renditions make once written to `key`'s folder under `base_url`.
    pub fn picture(&self, key: &UploadKey, base_url: &str) -> Picture {
        let url =
            |name: &str| format!("{}/{}/{name}", base_url.trim_end_matches('/'), key.folder());
        let mut sources = Vec::new();
        let mut original = String::new();
        for r in &self.renditions {
            if r.name.starts_with("original.") {
                original = url(&r.name);
            } else {
                sources.push(Source {
                    url: url(&r.name),
                    width: r.width,
                });
            }
        }
        sources.sort_by_key(|s| s.width);
        Picture {
            upload: key.upload,
            width: self.width,
            height: self.height,
            sources,
            original,
        }
    }
}

/// The widths to make for a picture `width` pixels wide: every standard width narrower than it,
/// and its own width up to the widest standard one, so it is served at full size but never
/// upscaled.
pub fn widths_for(width: u32) -> Vec<u32> {
    let widest = WIDTHS[WIDTHS.len() - 1];
    let mut out: Vec<u32> = WIDTHS.iter().copied().filter(|w| *w < width).collect();
    if width <= widest {
        out.push(width.max(1));
    }
    out
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
        ImageFormat::WebP => "image/webp",
        _ => "another format",
    }
}

/// Decodes the upload made to `key` and renders its widths. The format is read from the bytes,
/// never from the name, and the size from the header before anything is decoded, so a small
/// file that claims a huge canvas costs nothing.
pub fn render(key: &UploadKey, bytes: &[u8]) -> Result<Rendered, Refusal> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| Refusal::NotAnImage)?;
    let format = reader.format().ok_or(Refusal::NotAnImage)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP
    ) {
        return Err(Refusal::NotAnImage);
    }
    let declared = key.content_type();
    if format_name(format) != declared {
        return Err(Refusal::WrongType {
            declared,
            found: format_name(format),
        });
    }
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| Refusal::Undecodable(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(Refusal::TooLarge {
            width: w,
            height: h,
        });
    }
    let orientation = decoder
        .orientation()
        .map_err(|e| Refusal::Undecodable(e.to_string()))?;
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|e| Refusal::Undecodable(e.to_string()))?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());

    let mut renditions = vec![Rendition {
        name: format!("original.{}", key.ext),
        content_type: declared,
        width,
        bytes: bytes.to_vec(),
    }];
    // Widest first, each from the one before: a 1280 from a 12 MP photo, then 640 from that, is
    // faster than three resizes of the photo and looks the same.
    let mut from = image.into_rgb8();
    for target in widths_for(width).into_iter().rev() {
        let target_h = ((u64::from(height) * u64::from(target) + u64::from(width) / 2)
            / u64::from(width))
        .max(1) as u32;
        if target != from.width() {
            from = image::imageops::resize(&from, target, target_h, FilterType::Triangle);
        }
        let webp = webp::Encoder::from_rgb(from.as_raw(), from.width(), from.height())
            .encode(WEBP_QUALITY);
        renditions.push(Rendition {
            name: format!("{target}.webp"),
            content_type: "image/webp",
            width: target,
            bytes: webp.to_vec(),
        });
    }
    Ok(Rendered {
        width,
        height,
        renditions,
    })
}

#[cfg(test)]
mod tests {
    use image::{ImageEncoder, Rgb, RgbImage, codecs::png::PngEncoder};

    use super::*;

    fn key(ext: &'static str) -> UploadKey {
        UploadKey {
            product: ProductId::new(),
            admin: UserId::new(),
            upload: Ulid::new(),
            ext,
        }
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    /// The CRC a PNG chunk ends with (IEEE 802.3), so a patched header still reads as valid.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn an_upload_key_round_trips_and_forged_ones_are_refused() {
        let (k, mime) = UploadKey::new(&ProductId::new(), &UserId::new(), " IMAGE/PNG").unwrap();
        assert_eq!(mime, "image/png");
        assert_eq!(UploadKey::parse(&k.key()), Some(k.clone()));
        assert!(k.folder().starts_with(&format!("products/{}/", k.product)));
        assert!(UploadKey::new(&k.product, &k.admin, "image/svg+xml").is_err());
        let p = &k.product;
        for forged in [
            format!("products/{p}/{}/x.png", k.admin),
            format!("uploads/{p}/{}/{}.gif", k.admin, k.upload),
            format!("uploads/{p}/../{}.png", k.upload),
            format!("uploads/{p}/a/b/{}.png", k.upload),
            format!("uploads/not-a-ulid/a/{}.png", k.upload),
            format!("uploads/{p}/a/nope.png"),
            format!("uploads/{p}//{}.png", k.upload),
        ] {
            assert_eq!(UploadKey::parse(&forged), None, "{forged}");
        }
    }

    #[test]
    fn only_a_later_upload_supersedes_the_picture() {
        // Two ULIDs of one millisecond sort at random: these are a millisecond apart.
        let at = |ms: u64| UploadKey {
            upload: Ulid::from_parts(ms, 0),
            ..key("png")
        };
        let (older, newer) = (at(1_796_000_000_000), at(1_796_000_000_001));
        let shown = render(&older, &png(4, 3))
            .unwrap()
            .picture(&older, "http://s3");
        assert!(supersedes(&older, None));
        assert!(supersedes(&newer, Some(&shown)));
        assert!(!supersedes(&older, Some(&shown)), "the same upload again");
        let shown = render(&newer, &png(4, 3))
            .unwrap()
            .picture(&newer, "http://s3");
        assert!(!supersedes(&older, Some(&shown)), "an older upload, late");
    }

    #[test]
    fn widths_never_upscale() {
        assert_eq!(widths_for(4000), vec![320, 640, 1280]);
        assert_eq!(widths_for(1280), vec![320, 640, 1280]);
        assert_eq!(widths_for(641), vec![320, 640, 641]);
        assert_eq!(widths_for(640), vec![320, 640]);
        assert_eq!(widths_for(320), vec![320]);
        assert_eq!(widths_for(2), vec![2]);
    }

    #[test]
    fn a_photo_becomes_webp_widths_at_its_aspect_ratio_plus_the_original() {
        let k = key("png");
        let bytes = png(1600, 1200);
        let r = render(&k, &bytes).unwrap();
        assert_eq!((r.width, r.height), (1600, 1200));
        let names: Vec<_> = r.renditions.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["original.png", "1280.webp", "640.webp", "320.webp"]);
        assert_eq!(r.renditions[0].bytes, bytes);
        for rendition in &r.renditions[1..] {
            let img =
                image::load_from_memory_with_format(&rendition.bytes, ImageFormat::WebP).unwrap();
            assert_eq!(img.width(), rendition.width);
            assert_eq!(img.height(), rendition.width * 3 / 4);
        }
        let picture = r.picture(&k, "https://cdn.example/");
        assert_eq!(picture.sources.len(), 3);
        assert_eq!(picture.sources[0].width, 320, "narrowest first");
        assert_eq!(
            picture.default_url(),
            format!("https://cdn.example/{}/640.webp", k.folder())
        );
        assert!(picture.original.ends_with("/original.png"));
    }

    #[test]
    fn a_tiny_picture_is_served_at_its_own_size() {
        let k = key("png");
        let r = render(&k, &png(2, 2)).unwrap();
        let picture = r.picture(&k, "http://s3");
        assert_eq!(picture.sources.len(), 1);
        assert_eq!(picture.sources[0].width, 2);
        assert!(picture.default_url().ends_with("/2.webp"));
    }

    #[test]
    fn exif_orientation_is_applied() {
        // A 40x20 JPEG whose EXIF says "rotate 90° clockwise" is a 20x40 picture.
        let img = RgbImage::from_pixel(40, 20, Rgb([200, 10, 10]));
        let mut jpeg = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new(&mut jpeg);
        // Minimal little-endian TIFF with one IFD entry: Orientation (0x0112) = 6.
        let exif = [
            b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0,
            0,
        ];
        encoder.set_exif_metadata(exif.to_vec()).unwrap();
        encoder
            .write_image(img.as_raw(), 40, 20, image::ExtendedColorType::Rgb8)
            .unwrap();
        let r = render(&key("jpg"), &jpeg).unwrap();
        assert_eq!((r.width, r.height), (20, 40));
    }

    #[test]
    fn what_is_not_an_allowed_decodable_picture_is_refused() {
        assert_eq!(
            render(&key("png"), b"<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap_err(),
            Refusal::NotAnImage
        );
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(render(&key("png"), gif).unwrap_err(), Refusal::NotAnImage);
        assert!(matches!(
            render(&key("jpg"), &png(4, 4)).unwrap_err(),
            Refusal::WrongType { .. }
        ));
        // A truncated PNG: the header is right, the pixels are missing.
        let mut cut = png(64, 64);
        cut.truncate(60);
        assert!(matches!(
            render(&key("png"), &cut).unwrap_err(),
            Refusal::Undecodable(_) | Refusal::NotAnImage
        ));
        // A header claiming 8000x8000 (64 MP) is refused before any pixel is decoded.
        let mut huge = png(1, 1);
        huge[16..20].copy_from_slice(&8000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&8000u32.to_be_bytes());
        let crc = crc32(&huge[12..29]);
        huge[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            render(&key("png"), &huge).unwrap_err(),
            Refusal::TooLarge {
                width: 8000,
                height: 8000
            }
        );
    }
}
