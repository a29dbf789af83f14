//! БНАЖ, the unified notary system (ЕНИС) (being written).
