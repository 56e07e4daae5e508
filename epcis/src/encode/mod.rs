//! Encoders: EPCIS 2.0 JSON-LD, 2.0 XML and 1.2 XML.
