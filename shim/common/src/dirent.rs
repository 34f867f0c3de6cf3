//! Reading `getdents64` records (`struct linux_dirent64`): `d_ino` (8
//! bytes), `d_off` (8), `d_reclen` (2), `d_type` (1), then `d_name`,
//! NUL-terminated, the record padded to `d_reclen`. For the front, which
//! lists directories with raw system calls.

/// Does this buffer of records name anything but `.` and `..`? Records
/// that do not fit are not read.
pub fn has_entry_other_than_dots(mut records: &[u8]) -> bool {
    while let (Some(&lo), Some(&hi)) = (records.get(16), records.get(17)) {
        let len = usize::from(u16::from_ne_bytes([lo, hi]));
        let Some(record) = records.get(..len).filter(|_| len > 19) else {
            return false;
        };
        let name = record.get(19..).unwrap_or(&[]);
        let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
        if name != b"." && name != b".." {
            return true;
        }
        records = records.get(len..).unwrap_or(&[]);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> Vec<u8> {
        let len = (19 + name.len() + 1).div_ceil(8) * 8;
        let mut r = vec![0u8; len];
        r[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
        r[18] = 4;
        r[19..19 + name.len()].copy_from_slice(name.as_bytes());
        r
    }

    #[test]
    fn dots_alone_are_an_empty_directory() {
        let dots = [record("."), record("..")].concat();
        assert!(!has_entry_other_than_dots(&dots));
        assert!(has_entry_other_than_dots(&[dots.clone(), record("corp.crt")].concat()));
        assert!(has_entry_other_than_dots(&record("..hidden")));
        assert!(!has_entry_other_than_dots(&[]));
    }

    #[test]
    fn damaged_records_are_not_read() {
        let mut r = record("corp.crt");
        r[16..18].copy_from_slice(&0u16.to_ne_bytes());
        assert!(!has_entry_other_than_dots(&r));
        let mut r = record("corp.crt");
        r[16..18].copy_from_slice(&u16::MAX.to_ne_bytes());
        assert!(!has_entry_other_than_dots(&r));
        assert!(!has_entry_other_than_dots(&record("corp.crt")[..10]));
    }
}
