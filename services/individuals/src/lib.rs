//! ЖТ МДБ, the state database of individuals (ГБД ФЛ) (being written).
