//! `aws_rekognition_detect_labels` and `aws_rekognition_detect_moderation_labels`: no model
//! runs here, so what they find is what a test declared for the file through the admin API
//! (`PUT /_emulator/projects/<pub_key>/files/<uuid>/addons/<name>`), and nothing (an empty
//! label list) by default. Like AWS Rekognition they read JPEG and PNG images only; any
//! other file ends the run in `error`.

use serde_json::{json, Map, Value};

/// The `LabelModelVersion` reported (production's 2023 recordings).
pub const LABEL_MODEL_VERSION: &str = "3.0";
/// The `ModerationModelVersion` reported (production's 2023 recordings).
pub const MODERATION_MODEL_VERSION: &str = "6.1";
/// The appdata `version` of both (production's).
pub const VERSION: &str = "2016-06-27";

/// The appdata `data` of a labels run finding `labels` (already normalised).
pub fn labels_data(labels: Vec<Value>) -> Value {
    json!({ "Labels": labels, "LabelModelVersion": LABEL_MODEL_VERSION })
}

/// The appdata `data` of a moderation run finding `labels` (already normalised).
pub fn moderation_data(labels: Vec<Value>) -> Value {
    json!({ "ModerationLabels": labels, "ModerationModelVersion": MODERATION_MODEL_VERSION })
}

/// A declared label in production's shape: `Name` (required), `Confidence` (0–100, default
/// 99.0), and `Parents` (names or `{"Name"}` objects) with `Instances` for labels, or
/// `ParentName` (default `""`) for moderation labels. `Err` says what is wrong.
pub fn normalise(label: &Value, moderation: bool) -> Result<Value, String> {
    let o = label.as_object().ok_or("each label must be an object")?;
    let name = o
        .get("Name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or("each label needs a non-empty string `Name`")?;
    let confidence = match o.get("Confidence") {
        None => 99.0,
        Some(c) => c
            .as_f64()
            .filter(|c| (0.0..=100.0).contains(c))
            .ok_or("`Confidence` must be a number from 0 to 100")?,
    };
    let mut out = Map::new();
    out.insert("Name".into(), name.into());
    out.insert("Confidence".into(), confidence.into());
    if moderation {
        let parent = match o.get("ParentName") {
            None => "",
            Some(p) => p.as_str().ok_or("`ParentName` must be a string")?,
        };
        out.insert("ParentName".into(), parent.into());
        return Ok(Value::Object(out));
    }
    let parents = match o.get("Parents") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|p| match p {
                Value::String(n) => Ok(json!({ "Name": n })),
                Value::Object(po) if po.get("Name").is_some_and(Value::is_string) => {
                    Ok(json!({ "Name": po["Name"] }))
                }
                _ => Err("`Parents` items must be names or {\"Name\": …} objects"),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`Parents` must be a list".into()),
    };
    let instances = match o.get("Instances") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err("`Instances` must be a list".into()),
    };
    out.insert("Parents".into(), parents.into());
    out.insert("Instances".into(), instances.into());
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_get_production_shape() {
        let l = normalise(&json!({"Name": "Dog", "Parents": ["Animal"]}), false).unwrap();
        assert_eq!(
            l,
            json!({"Name": "Dog", "Confidence": 99.0, "Parents": [{"Name": "Animal"}], "Instances": []})
        );
        let m = normalise(
            &json!({"Name": "Weapons", "ParentName": "Violence", "Confidence": 93.5}),
            true,
        )
        .unwrap();
        assert_eq!(
            m,
            json!({"Name": "Weapons", "Confidence": 93.5, "ParentName": "Violence"})
        );
        assert!(normalise(&json!({"Confidence": 5}), false).is_err());
        assert!(normalise(&json!({"Name": "x", "Confidence": 101}), false).is_err());
        assert!(normalise(&json!("x"), true).is_err());
    }
}
