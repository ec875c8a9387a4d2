//! The storefront's public pages as HTML, without storage: the home page, a category page, a
//! product page (with its canonical link, OpenGraph tags and schema.org `Product`/`Offer` JSON-LD),
//! the page that sends a visitor on from a removed or renamed product, `sitemap.xml` and
//! `robots.txt`. Each page is the published shell (`index.html`, whose script then takes the page
//! over) with its head tags and its content filled in. Pure: no HTTP, no AWS.

use serde_json::json;

use crate::{
    catalog::model::{Category, ProductView, Slug},
    events::mail::escape,
};

/// A product's price as the emails write it (`$12.50`, `12.50 CHF`).
fn price(p: &ProductView) -> String {
    crate::events::mail::money(p.price_cents.get(), p.currency.as_str())
}

/// Where the shop is published: its name and its origin (`https://shop.example`, no slash).
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    pub name: &'a str,
    pub url: &'a str,
}

/// The products a listing page shows at most (the script pages on from `/search`).
pub const HOME_PRODUCTS: usize = 12;

/// Where a page lives: its public path, and its object in the site bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageKey {
    Home,
    Category(Category),
    Product(Slug),
}

/// The prefix of every written page in the site bucket (the CDN's path function maps to it).
pub const PAGES_PREFIX: &str = "pages/";
pub const SITEMAP_KEY: &str = "sitemap.xml";
pub const ROBOTS_KEY: &str = "robots.txt";
/// The shell every page is made from, as `publish-site` writes it.
pub const SHELL_KEY: &str = "index.html";

impl PageKey {
    pub fn path(&self) -> String {
        match self {
            PageKey::Home => "/".into(),
            PageKey::Category(c) => format!("/category/{c}"),
            PageKey::Product(s) => format!("/products/{s}"),
        }
    }

    pub fn object(&self) -> String {
        match self {
            PageKey::Home => format!("{PAGES_PREFIX}index.html"),
            PageKey::Category(c) => format!("{PAGES_PREFIX}category/{c}.html"),
            PageKey::Product(s) => format!("{PAGES_PREFIX}products/{s}.html"),
        }
    }
}

/// The published `index.html`, with the two places a page fills in.
#[derive(Debug, Clone)]
pub struct Shell {
    before_head_end: String,
    between: String,
    after_main: String,
    main_open: String,
}

const HEAD_END: &str = "</head>";
const MAIN_START: &str = "<main id=\"app\"";
const MAIN_END: &str = "</main>";

impl Shell {
    /// Reads the shell; `None` when it lacks `</head>` or `<main id="app" …>…</main>`.
    pub fn parse(html: &str) -> Option<Shell> {
        let head = html.find(HEAD_END)?;
        let main = html[head..].find(MAIN_START)? + head;
        let main_tag_end = html[main..].find('>')? + main;
        let main_end = html[main_tag_end..].find(MAIN_END)? + main_tag_end;
        // The shell's own title and description give way to the page's.
        let head_part = strip_tag(&html[..head], "<title>", "</title>");
        let head_part = strip_meta(&head_part, "description");
        Some(Shell {
            before_head_end: head_part,
            between: html[head..main].to_string(),
            main_open: html[main..main_tag_end].to_string(),
            after_main: html[main_end..].to_string(),
        })
    }

    fn page(&self, head: &str, page: &str, main: &str) -> String {
        format!(
            "{}{head}{}{} data-page=\"{page}\">{main}{}",
            self.before_head_end, self.between, self.main_open, self.after_main
        )
    }
}

fn strip_tag(html: &str, open: &str, close: &str) -> String {
    match (html.find(open), html.find(close)) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &html[..a], &html[b + close.len()..]),
        _ => html.to_string(),
    }
}

fn strip_meta(html: &str, name: &str) -> String {
    let needle = format!("<meta name=\"{name}\"");
    match html.find(&needle) {
        Some(a) => match html[a..].find('>') {
            Some(b) => format!("{}{}", &html[..a], &html[a + b + 1..]),
            None => html.to_string(),
        },
        None => html.to_string(),
    }
}

/// A category handle as a title: `loose-leaf-tea` -> `Loose leaf tea`.
pub fn pretty(category: &Category) -> String {
    let text = category.as_str().replace('-', " ");
    let mut chars = text.chars();
    chars
        .next()
        .map(|f| f.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Text for a `<meta name="description">`: one line, at most 160 characters.
fn summary(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 160 {
        return line;
    }
    let cut: String = line.chars().take(157).collect();
    format!("{}…", cut.trim_end())
}

fn head(site: &Site, title: &str, description: &str, path: &str, extra: &str) -> String {
    let url = format!("{}{path}", site.url);
    format!(
        "<title>{t}</title>\n  <meta name=\"description\" content=\"{d}\">\n  \
         <link rel=\"canonical\" href=\"{u}\">\n  \
         <meta property=\"og:site_name\" content=\"{n}\">\n  \
         <meta property=\"og:title\" content=\"{t}\">\n  \
         <meta property=\"og:description\" content=\"{d}\">\n  \
         <meta property=\"og:url\" content=\"{u}\">\n  {extra}",
        t = escape(title),
        d = escape(description),
        u = escape(&url),
        n = escape(site.name),
    )
}

/// JSON for a `<script type="application/ld+json">`: `<` escaped so no text can close the element.
fn ld_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

fn image(p: &ProductView, sizes: &str, eager: bool) -> String {
    let loading = if eager { "eager" } else { "lazy" };
    let alt = escape(&p.name);
    match (&p.picture, &p.image_url) {
        (Some(pic), _) if !pic.sources.is_empty() => {
            let srcset: Vec<String> = pic
                .sources
                .iter()
                .map(|s| format!("{} {}w", s.url, s.width))
                .collect();
            let src = p.image_url.as_deref().unwrap_or(&pic.sources[0].url);
            format!(
                "<img class=\"thumb\" src=\"{}\" alt=\"{alt}\" loading=\"{loading}\" decoding=\"async\" \
                 srcset=\"{}\" sizes=\"{sizes}\" width=\"{}\" height=\"{}\">",
                escape(src),
                escape(&srcset.join(", ")),
                pic.width,
                pic.height
            )
        }
        (_, Some(url)) => format!(
            "<img class=\"thumb\" src=\"{}\" alt=\"{alt}\" loading=\"{loading}\" width=\"640\" height=\"480\">",
            escape(url)
        ),
        _ => format!(
            "<div class=\"thumb\" role=\"img\" aria-label=\"{alt}\">{}</div>",
            escape(
                &p.name
                    .trim()
                    .chars()
                    .next()
                    .map(|c| c.to_uppercase().to_string())
                    .unwrap_or_default()
            )
        ),
    }
}

/// What the page says of the stock: whether there is any (the count moves with every order; the
/// script shows it live).
fn availability(p: &ProductView) -> (&'static str, &'static str, &'static str) {
    if p.stock > 0 {
        ("stock", "In stock", "https://schema.org/InStock")
    } else {
        ("stock out", "Sold out", "https://schema.org/OutOfStock")
    }
}

/// A buy button as the page is written. An in-stock one is written disabled too, marked
/// `data-wait`: it works only once the script has taken the page over (`hydrate` lifts both), and a
/// disabled button shows that, where a live-looking one would drop the click.
fn buy_button(p: &ProductView, label_in: &str, label_out: &str, class: &str, aria: bool) -> String {
    let (attrs, text) = if p.stock > 0 {
        let aria = if aria {
            format!(" aria-label=\"Add {} to cart\"", escape(&p.name))
        } else {
            String::new()
        };
        (format!("{aria} data-wait disabled"), label_in)
    } else {
        let aria = if aria {
            format!(" aria-label=\"Sold out: {}\"", escape(&p.name))
        } else {
            String::new()
        };
        (format!("{aria} disabled"), label_out)
    };
    format!(
        "<button{class} data-add=\"{}\" data-name=\"{}\"{attrs}>{text}</button>",
        escape(p.id.as_str()),
        escape(&p.name)
    )
}

/// A product's page.
pub fn product_page(shell: &Shell, site: &Site, p: &ProductView) -> String {
    let key = PageKey::Product(p.slug.clone());
    let path = key.path();
    let image_url = p
        .image_url
        .clone()
        .or_else(|| p.picture.as_ref().map(|pic| pic.default_url().to_string()));
    let (class, label, schema_availability) = availability(p);
    let amount = p.price_cents.decimal();
    let mut product = json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.name,
        "sku": p.id.as_str(),
        "url": format!("{}{path}", site.url),
        "category": pretty(&p.category),
        "offers": {
            "@type": "Offer",
            "url": format!("{}{path}", site.url),
            "price": amount,
            "priceCurrency": p.currency.as_str(),
            "availability": schema_availability,
            "itemCondition": "https://schema.org/NewCondition",
        },
    });
    if !p.description.is_empty() {
        product["description"] = json!(p.description);
    }
    if let Some(url) = &image_url {
        product["image"] = json!(url);
    }
    let mut extra = format!(
        "<meta property=\"og:type\" content=\"product\">\n  \
         <meta property=\"product:price:amount\" content=\"{amount}\">\n  \
         <meta property=\"product:price:currency\" content=\"{}\">\n  \
         <meta property=\"product:availability\" content=\"{}\">\n  ",
        escape(p.currency.as_str()),
        if p.stock > 0 {
            "in stock"
        } else {
            "out of stock"
        },
    );
    if let Some(url) = &image_url {
        extra.push_str(&format!(
            "<meta property=\"og:image\" content=\"{}\">\n  ",
            escape(url)
        ));
    }
    extra.push_str(&format!(
        "<script type=\"application/ld+json\">{}</script>\n",
        ld_json(&product)
    ));
    let description = if p.description.is_empty() {
        format!("{} from {}", p.name, site.name)
    } else {
        summary(&p.description)
    };
    let title = format!("{} — {}", p.name, site.name);
    let main = format!(
        "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/\">Shop</a> / <a href=\"{cat_path}\">{cat}</a></nav>\
         <div class=\"product\" data-product=\"{id}\">{img}<div><h1>{name}</h1><p class=\"price\">{money}</p>\
         <span class=\"{class}\" data-stock=\"{id}\">{label}</span><p>{desc}</p>\
         <div class=\"buy\"><label for=\"qty\">Quantity<input id=\"qty\" class=\"qty\" type=\"number\" min=\"1\" max=\"{max}\" value=\"1\" inputmode=\"numeric\"></label>{button}</div></div></div>",
        cat_path = PageKey::Category(p.category.clone()).path(),
        cat = escape(&pretty(&p.category)),
        id = escape(p.id.as_str()),
        img = image(p, "(max-width: 720px) 100vw, 480px", true),
        name = escape(&p.name),
        money = escape(&price(p)),
        desc = escape(&p.description),
        max = p.stock.clamp(1, 99),
        button = buy_button(p, "Add to cart", "Sold out", "", false),
    );
    shell.page(
        &head(site, &title, &description, &path, &extra),
        "product",
        &main,
    )
}

fn card(p: &ProductView, i: usize) -> String {
    let href = PageKey::Product(p.slug.clone()).path();
    let (class, label, _) = availability(p);
    format!(
        "<article class=\"card\" data-product=\"{slug}\"><a class=\"cover\" href=\"{href}\" tabindex=\"-1\" aria-hidden=\"true\">{img}</a>\
         <div class=\"body\"><h2><a href=\"{href}\">{name}</a></h2><span class=\"{class}\" data-stock=\"{id}\">{label}</span>\
         <div class=\"row\"><span class=\"price\">{money}</span>{button}</div></div></article>",
        slug = escape(p.slug.as_str()),
        img = image(p, "(max-width: 640px) 50vw, 240px", i < 4),
        name = escape(&p.name),
        id = escape(p.id.as_str()),
        money = escape(&price(p)),
        button = buy_button(p, "Add", "Sold out", " class=\"secondary\"", true),
    )
}

/// The home page (`category` none: the first products of the whole catalog, with a link on to all
/// of them) or a category's page (all its products), in name order.
pub fn listing_page(
    shell: &Shell,
    site: &Site,
    category: Option<&Category>,
    categories: &[Category],
    products: &[ProductView],
    more: bool,
) -> String {
    let key = category.map_or(PageKey::Home, |c| PageKey::Category(c.clone()));
    let (title, heading, description) = match category {
        None => (
            site.name.to_string(),
            "Fresh from the roastery".to_string(),
            format!("{}: coffee, tea and the tools to brew them.", site.name),
        ),
        Some(c) => (
            format!("{} — {}", pretty(c), site.name),
            pretty(c),
            format!(
                "{} from {}: {} products.",
                pretty(c),
                site.name,
                products.len()
            ),
        ),
    };
    let chip = |target: Option<&Category>, label: &str| {
        let current = target == category;
        let path = target
            .map_or(PageKey::Home, |c| PageKey::Category(c.clone()))
            .path();
        format!(
            "<li><a class=\"chip\" href=\"{path}\"{}>{}</a></li>",
            if current {
                " aria-current=\"page\""
            } else {
                ""
            },
            escape(label)
        )
    };
    let chips: String = std::iter::once(chip(None, "All"))
        .chain(categories.iter().map(|c| chip(Some(c), &pretty(c))))
        .collect();
    let grid = if products.is_empty() {
        "<div class=\"empty\">No products here yet.</div>".to_string()
    } else {
        let cards: String = products
            .iter()
            .enumerate()
            .map(|(i, p)| card(p, i))
            .collect();
        format!("<div class=\"grid\" id=\"products\">{cards}</div>")
    };
    let more = if more {
        "<p class=\"more\"><a href=\"/search\">See every product</a></p>"
    } else {
        ""
    };
    let main = format!(
        "<h1>{}</h1><ul class=\"chips\" aria-label=\"Categories\">{chips}</ul>{grid}{more}",
        escape(&heading)
    );
    let extra = "<meta property=\"og:type\" content=\"website\">\n";
    let page = if category.is_some() {
        "category"
    } else {
        "home"
    };
    shell.page(
        &head(site, &title, &description, &key.path(), extra),
        page,
        &main,
    )
}

/// The page left where a product was: it sends visitors (and search engines, which read an
/// immediate refresh as a permanent move) on to `to`, and is never indexed itself.
pub fn moved_page(shell: &Shell, site: &Site, to: &PageKey, what: &str) -> String {
    let to = escape(&format!("{}{}", site.url, to.path()));
    let head = format!(
        "<title>{} — {}</title>\n  <meta name=\"robots\" content=\"noindex\">\n  \
         <link rel=\"canonical\" href=\"{to}\">\n  <meta http-equiv=\"refresh\" content=\"0; url={to}\">\n",
        escape(what),
        escape(site.name)
    );
    let main = format!(
        "<h1>{}</h1><p>This page has moved: <a href=\"{to}\">continue</a>.</p>",
        escape(what)
    );
    shell.page(&head, "moved", &main)
}

/// `sitemap.xml`: the home page, every category and every product, each product with when it last
/// changed.
pub fn sitemap(site: &Site, categories: &[Category], products: &[ProductView]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut url = |path: String, lastmod: Option<String>| {
        out.push_str(&format!(
            "  <url><loc>{}{}</loc>",
            escape(site.url),
            escape(&path)
        ));
        if let Some(at) = lastmod {
            out.push_str(&format!("<lastmod>{at}</lastmod>"));
        }
        out.push_str("</url>\n");
    };
    url(PageKey::Home.path(), None);
    for c in categories {
        url(PageKey::Category(c.clone()).path(), None);
    }
    for p in products {
        url(
            PageKey::Product(p.slug.clone()).path(),
            Some(p.updated_at.to_string()),
        );
    }
    out.push_str("</urlset>\n");
    out
}

/// `robots.txt`: the public pages and search results may be crawled; not the shopper's own pages,
/// or `/product/<id>` (the script's address of a product, whose page is `/products/<slug>`). The
/// sitemap says where the pages are.
pub fn robots(site: &Site) -> String {
    format!(
        "User-agent: *\nDisallow: /api/\nDisallow: /cart\nDisallow: /checkout\nDisallow: /orders\n\
         Disallow: /account\nDisallow: /admin\nDisallow: /product/\nAllow: /\n\n\
         Sitemap: {}/{SITEMAP_KEY}\n",
        site.url
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Cents, Timestamp};

    const SHELL: &str = "<!doctype html><html><head><meta charset=\"utf-8\">\n  <title>Shop</title>\n  \
        <meta name=\"description\" content=\"Shell\">\n  <script type=\"module\" src=\"/js/main.0a1b2c3d4e.js\"></script>\n</head>\
        <body><header>h</header><main id=\"app\" tabindex=\"-1\">\n    <p class=\"loading\">Loading…</p>\n  </main><footer>f</footer></body></html>";

    fn site() -> Site<'static> {
        Site {
            name: "Bean & Leaf",
            url: "https://shop.example",
        }
    }

    fn product(name: &str, stock: i64) -> ProductView {
        ProductView {
            description: "Bergamot & black tea </script> \"strong\"".into(),
            price_cents: Cents::price("p", 123_450).unwrap(),
            stock,
            image_url: Some("https://img.example/p/1-640.webp".into()),
            updated_at: Timestamp::parse("2026-12-02T10:00:00Z").unwrap(),
            ..ProductView::example(name)
        }
    }

    fn ld(html: &str) -> serde_json::Value {
        let start = html.find("application/ld+json\">").unwrap() + "application/ld+json\">".len();
        let end = html[start..].find("</script>").unwrap() + start;
        serde_json::from_str(&html[start..end]).unwrap()
    }

    #[test]
    fn a_product_page_carries_its_facts_in_html_and_json_ld() {
        let shell = Shell::parse(SHELL).unwrap();
        let html = product_page(&shell, &site(), &product("Earl Grey", 3));
        assert!(html.contains("<h1>Earl Grey</h1>"));
        assert!(html.contains("<p class=\"price\">$1234.50</p>"));
        assert!(html.contains(">In stock<"));
        assert!(html.contains("<title>Earl Grey — Bean &amp; Leaf</title>"));
        assert_eq!(html.matches("<title>").count(), 1, "the shell's title goes");
        assert_eq!(html.matches("name=\"description\"").count(), 1);
        assert!(
            html.contains(
                "<link rel=\"canonical\" href=\"https://shop.example/products/earl-grey\">"
            )
        );
        assert!(html.contains("og:image\" content=\"https://img.example/p/1-640.webp\""));
        assert!(
            html.contains("src=\"/js/main.0a1b2c3d4e.js\""),
            "the script takes over"
        );
        assert!(html.contains("<main id=\"app\" tabindex=\"-1\" data-page=\"product\">"));
        assert!(html.ends_with("</main><footer>f</footer></body></html>"));
        // Text that looks like markup stays text, in the page and in the JSON-LD.
        assert!(html.contains("Bergamot &amp; black tea &lt;/script&gt; &quot;strong&quot;"));
        assert_eq!(html.matches("</script>").count(), 2);
        let ld = ld(&html);
        assert_eq!(ld["@type"], "Product");
        assert_eq!(
            ld["description"],
            "Bergamot & black tea </script> \"strong\""
        );
        assert_eq!(ld["offers"]["@type"], "Offer");
        assert_eq!(ld["offers"]["price"], "1234.50");
        assert_eq!(ld["offers"]["priceCurrency"], "USD");
        assert_eq!(ld["offers"]["availability"], "https://schema.org/InStock");
        assert_eq!(ld["image"], "https://img.example/p/1-640.webp");
    }

    #[test]
    fn a_sold_out_product_says_so_everywhere() {
        let shell = Shell::parse(SHELL).unwrap();
        let html = product_page(&shell, &site(), &product("Earl Grey", 0));
        assert!(html.contains(">Sold out</button>") && html.contains(" disabled>"));
        assert!(html.contains("content=\"out of stock\""));
        assert_eq!(
            ld(&html)["offers"]["availability"],
            "https://schema.org/OutOfStock"
        );
    }

    #[test]
    fn listings_link_products_by_path_and_mark_the_current_category() {
        let shell = Shell::parse(SHELL).unwrap();
        let tea = Category::parse("tea").unwrap();
        let cats = [Category::parse("coffee").unwrap(), tea.clone()];
        let items = [product("Earl Grey", 3), product("Assam", 0)];
        let html = listing_page(&shell, &site(), Some(&tea), &cats, &items, false);
        assert!(html.contains("<h1>Tea</h1>"));
        assert!(html.contains("href=\"/products/earl-grey\""));
        assert!(
            html.contains("<a class=\"chip\" href=\"/category/tea\" aria-current=\"page\">Tea</a>")
        );
        assert!(html.contains("<a class=\"chip\" href=\"/category/coffee\">Coffee</a>"));
        assert!(html.contains("aria-label=\"Sold out: Assam\" disabled>"));
        // In stock, but inert until the script has taken the page over.
        assert!(html.contains("aria-label=\"Add Earl Grey to cart\" data-wait disabled>"));
        assert!(!html.contains("See every product"));
        let home = listing_page(&shell, &site(), None, &cats, &items, true);
        assert!(home.contains("data-page=\"home\"") && home.contains("href=\"/search\""));
        assert!(home.contains("<link rel=\"canonical\" href=\"https://shop.example/\">"));
    }

    #[test]
    fn a_moved_page_sends_on_and_is_not_indexed() {
        let shell = Shell::parse(SHELL).unwrap();
        let to = PageKey::Category(Category::parse("tea").unwrap());
        let html = moved_page(&shell, &site(), &to, "Earl Grey");
        assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
        assert!(html.contains("content=\"0; url=https://shop.example/category/tea\""));
        assert!(!html.contains("ld+json"));
    }

    #[test]
    fn the_sitemap_lists_every_page_and_robots_points_to_it() {
        let tea = Category::parse("tea").unwrap();
        let xml = sitemap(&site(), &[tea], &[product("Earl Grey", 1)]);
        assert!(xml.contains("<loc>https://shop.example/</loc>"));
        assert!(xml.contains("<loc>https://shop.example/category/tea</loc>"));
        assert!(xml.contains(
            "<url><loc>https://shop.example/products/earl-grey</loc><lastmod>2026-12-02T10:00:00"
        ));
        let robots = robots(&site());
        assert!(robots.contains("Sitemap: https://shop.example/sitemap.xml"));
        assert!(robots.contains("Disallow: /product/\n") && !robots.contains("/search"));
        assert!(
            !robots.contains("Disallow: /products"),
            "the product pages are crawled"
        );
    }

    #[test]
    fn a_shell_without_its_places_is_refused() {
        assert!(Shell::parse("<html><body>no head</body></html>").is_none());
        assert!(Shell::parse("<head></head><body><main>x</main>").is_none());
    }

    #[test]
    fn keys_and_paths_agree() {
        let slug = PageKey::Product(Slug::parse("earl-grey").unwrap());
        assert_eq!(
            (slug.path(), slug.object()),
            (
                "/products/earl-grey".into(),
                "pages/products/earl-grey.html".into()
            )
        );
        assert_eq!(PageKey::Home.object(), "pages/index.html");
    }
}
