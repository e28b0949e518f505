//! ONNX export of a [`LinearModel`]: a numeric head, `probabilities = Softmax(Gemm(features, W,
//! B))`, over the dense feature vector of [`featurise`](super::featurise). Text stays in Rust
//! (ONNX runtimes have no tokenizer to match ours): the caller featurises and passes the vector.
//!
//! The file holds the class labels (`classes`, a JSON list) and the model card (`model_card`,
//! JSON) as metadata. The messages below are the subset of `onnx.proto` (IR version 7, opset
//! 13) that such a graph needs, with the field numbers of the ONNX schema.

use prost::Message;

use super::linear::{LinearModel, ModelCard};

/// Input name: `[batch, dim]` float features.
pub const INPUT: &str = "features";
/// Output name: `[batch, classes]` float probabilities.
pub const OUTPUT: &str = "probabilities";

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(int64, tag = "1")]
    ir_version: i64,
    #[prost(string, tag = "2")]
    producer_name: String,
    #[prost(string, tag = "3")]
    producer_version: String,
    #[prost(int64, tag = "5")]
    model_version: i64,
    #[prost(string, tag = "6")]
    doc_string: String,
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    opset_import: Vec<OperatorSetIdProto>,
    #[prost(message, repeated, tag = "14")]
    metadata_props: Vec<StringStringEntryProto>,
}

#[derive(Clone, PartialEq, Message)]
struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    domain: String,
    #[prost(int64, tag = "2")]
    version: i64,
}

#[derive(Clone, PartialEq, Message)]
struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    output: Vec<ValueInfoProto>,
}

#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct AttributeProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "3")]
    i: i64,
    /// `AttributeType::INT` = 2.
    #[prost(int32, tag = "20")]
    r#type: i32,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    /// `TensorProto.DataType.FLOAT` = 1.
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(string, tag = "8")]
    name: String,
    /// Little-endian values.
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct ValueInfoProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    r#type: Option<TypeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TypeProto {
    #[prost(message, optional, tag = "1")]
    tensor_type: Option<TensorTypeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    elem_type: i32,
    #[prost(message, optional, tag = "2")]
    shape: Option<TensorShapeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    dim: Vec<Dimension>,
}

#[derive(Clone, PartialEq, Message)]
struct Dimension {
    #[prost(int64, optional, tag = "1")]
    dim_value: Option<i64>,
    #[prost(string, optional, tag = "2")]
    dim_param: Option<String>,
}

const FLOAT: i32 = 1;

fn tensor(name: &str, dims: Vec<i64>, values: &[f32]) -> TensorProto {
    TensorProto {
        dims,
        data_type: FLOAT,
        name: name.to_owned(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

fn value_info(name: &str, width: i64) -> ValueInfoProto {
    let dim = vec![
        Dimension { dim_value: None, dim_param: Some("batch".to_owned()) },
        Dimension { dim_value: Some(width), dim_param: None },
    ];
    ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}

fn width(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The model as ONNX bytes.
pub fn to_onnx(model: &LinearModel) -> Vec<u8> {
    let (d, c) = (width(model.dim), width(model.classes.len()));
    let graph = GraphProto {
        node: vec![
            NodeProto {
                input: vec![INPUT.to_owned(), "W".to_owned(), "B".to_owned()],
                output: vec!["logits".to_owned()],
                name: "head".to_owned(),
                op_type: "Gemm".to_owned(),
                attribute: Vec::new(),
            },
            NodeProto {
                input: vec!["logits".to_owned()],
                output: vec![OUTPUT.to_owned()],
                name: "softmax".to_owned(),
                op_type: "Softmax".to_owned(),
                attribute: vec![AttributeProto { name: "axis".to_owned(), i: 1, r#type: 2 }],
            },
        ],
        name: "fintra_categoriser".to_owned(),
        initializer: vec![
            tensor("W", vec![d, c], &model.weights),
            tensor("B", vec![c], &model.bias),
        ],
        input: vec![value_info(INPUT, d)],
        output: vec![value_info(OUTPUT, c)],
    };
    ModelProto {
        ir_version: 7,
        producer_name: "fintra-ml".to_owned(),
        producer_version: env!("CARGO_PKG_VERSION").to_owned(),
        model_version: 1,
        doc_string: format!("fintra categoriser {}", model.card.version),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        metadata_props: vec![
            StringStringEntryProto { key: "classes".to_owned(), value: json(&model.classes) },
            StringStringEntryProto { key: "model_card".to_owned(), value: json(&model.card) },
        ],
    }
    .encode_to_vec()
}

/// Class labels and card read back from an exported file's metadata.
///
/// # Errors
/// The bytes are not a model this module wrote (a message naming what is missing).
pub fn read_metadata(bytes: &[u8]) -> Result<(Vec<String>, ModelCard), String> {
    let model = ModelProto::decode(bytes).map_err(|e| format!("not an ONNX model: {e}"))?;
    let get = |key: &str| {
        model
            .metadata_props
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.clone())
            .ok_or_else(|| format!("no {key} metadata"))
    };
    let classes = serde_json::from_str(&get("classes")?).map_err(|e| format!("classes: {e}"))?;
    let card = serde_json::from_str(&get("model_card")?).map_err(|e| format!("model_card: {e}"))?;
    Ok((classes, card))
}

/// A metadata value as JSON (plain data: serialising it cannot fail).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
