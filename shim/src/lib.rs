//! libcafix.so
