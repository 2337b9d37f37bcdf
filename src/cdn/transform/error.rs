//! What image processing can fail with. Rendering (status, production's HTML error page)
//! lives in [`crate::cdn::error`].

use crate::cdn::path::Operation;

/// An image-processing failure; every one is the client's (a 4xx), except `Internal`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransformError {
    /// An operation production does not have.
    UnknownOperation(String),
    /// A known operation with parameters it does not take (the operation as written).
    BadParams {
        /// The operation's name.
        name: String,
        /// Its parameters joined with `/`.
        params: String,
    },
    /// A requested side above production's limit.
    TooLarge,
    /// An image operation on a file that is not an image (production's own text).
    NotAnImage,
    /// An image in a format the emulator cannot decode (TIFF, HEIC, AVIF, BMP, …).
    UnsupportedFormat,
    /// Bytes that claim to be an image and do not decode, or exceed the decoder's limits.
    Undecodable,
    /// An operation production applies and the emulator cannot (overlays, text, …).
    NotEmulated(String),
    /// The worker running the job failed (logged, never sent).
    Internal(String),
}

impl TransformError {
    /// The error for `op` with parameters it does not take.
    pub fn bad_params(op: &Operation) -> Self {
        TransformError::BadParams {
            name: op.name.clone(),
            params: op.params.join("/"),
        }
    }

    /// The sentence shown in the error page.
    pub fn message(&self) -> String {
        match self {
            TransformError::UnknownOperation(name) => format!("Unknown operation \"{name}\"."),
            TransformError::BadParams { name, params } if params.is_empty() => {
                format!("Invalid operation \"{name}\": it needs parameters.")
            }
            TransformError::BadParams { name, params } => {
                format!("Invalid operation \"{name}\": wrong parameters \"{params}\".")
            }
            TransformError::TooLarge => "Requested image dimensions exceed the limit: \
                                           3000x3000 pixels, 5000x5000 with format/jpeg."
                .into(),
            TransformError::NotAnImage => "Not supported for files that are not images.".into(),
            TransformError::UnsupportedFormat => {
                "The emulator cannot process this image format (it decodes JPEG, PNG, GIF \
                 and WebP)."
                    .into()
            }
            TransformError::Undecodable => {
                "The image cannot be processed: it is damaged or too large to decode.".into()
            }
            TransformError::NotEmulated(name) => format!(
                "The emulator does not implement operation \"{name}\"; it answers this \
                 instead of an image without the operation applied."
            ),
            TransformError::Internal(_) => "Internal Server Error".into(),
        }
    }
}
