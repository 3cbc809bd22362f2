//! Images from the lab's own folder, for the page: only those the lab's Markdown shows,
//! by a plain relative path (no `..`, no absolute path, no scheme), found inside the lab's
//! folder once symlinks are resolved, regular files of an image type and a bounded size.
//! The list is made when the server starts; a request can name nothing else.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag};

/// Where the page asks for a lab image.
pub const ROUTE: &str = "/lab-files/";

/// Larger images are not served (a lab's diagram is a few hundred KiB).
const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// The image types served, by extension, with their media type.
const TYPES: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
];

/// The name under which the page asks for the lab image `rel` (`./img/a.png` →
/// `img/a.png`), `None` when `rel` is not a plain relative path to an image type.
pub fn key(rel: &str) -> Option<String> {
    let path = Path::new(rel);
    let plain = !rel.contains('\\')
        && !rel.contains(':')
        && !rel.contains('?')
        && !rel.contains('#')
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain {
        return None;
    }
    let parts: Vec<&str> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => p.to_str(),
            _ => None,
        })
        .collect();
    (!parts.is_empty() && media_type(&parts.join("/")).is_some()).then(|| parts.join("/"))
}

/// The media type of an image by its extension.
fn media_type(name: &str) -> Option<&'static str> {
    let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
    TYPES.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t)
}

/// One image the server may send.
#[derive(Debug, Clone)]
pub struct LabFile {
    pub path: PathBuf,
    pub media_type: &'static str,
}

/// The images `markdown` (the lab's text) shows that exist in `dir`, by relative path.
pub fn collect(markdown: &str, dir: &Path) -> BTreeMap<String, LabFile> {
    let mut files = BTreeMap::new();
    // `lab.md`'s parent is the empty path.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(root) = dir.canonicalize() else {
        return files;
    };
    for event in Parser::new(markdown) {
        let Event::Start(Tag::Image { dest_url, .. }) = event else {
            continue;
        };
        let Some(rel) = key(&dest_url) else {
            continue;
        };
        let Some(media_type) = media_type(&rel) else {
            continue;
        };
        let Ok(path) = root.join(&rel).canonicalize() else {
            continue;
        };
        let fits = std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= MAX_BYTES);
        if path.starts_with(&root) && fits {
            files.insert(rel, LabFile { path, media_type });
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_image_paths() {
        assert_eq!(key("img/path.png").as_deref(), Some("img/path.png"));
        assert_eq!(key("./img/path.png").as_deref(), Some("img/path.png"));
        assert_eq!(key("Topo.SVG").as_deref(), Some("Topo.SVG"));
        for bad in [
            "../secret.png",
            "/etc/x.png",
            "a/../../b.png",
            "http://x/a.png",
            "data:image/png;base64,AA",
            "a\\b.png",
            "notes.txt",
            "",
            ".",
        ] {
            assert_eq!(key(bad), None, "{bad}");
        }
    }

    #[test]
    fn symlinks_out_of_the_folder_and_missing_files_are_left_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.png"), b"png").expect("write");
        std::fs::write(outside.path().join("s.png"), b"png").expect("write");
        std::os::unix::fs::symlink(outside.path().join("s.png"), dir.path().join("link.png"))
            .expect("symlink");
        let md = "![a](./a.png) ![l](link.png) ![m](missing.png) ![u](../x.png)";
        let files = collect(md, dir.path());
        assert_eq!(files.keys().collect::<Vec<_>>(), ["a.png"]);
    }
}
