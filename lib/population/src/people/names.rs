//! Kazakh and Russian surnames, given names and patronymics.
//!
//! Surnames are stored in the male form; the female form adds "а"
//! (Ахметов → Ахметова, Ильин → Ильина), which holds for every entry here.
//! Kazakh names keep the Kazakh letters (Ә, Ғ, Қ, Ң, Ө, Ұ, Ү, І) as ГБД ФЛ
//! records them.
//!
//! Patronymics (choice documented here, not a regulation fact): seed 002
//! writes the name as Ф.И.О. / Т.А.Ә. with the patronymic "if any". A Kazakh
//! family writes its children's patronymic either in the Russian form
//! (Серікович / Серіковна), as most identity documents still do, or in the
//! Kazakh form (Серікұлы / Серікқызы); see `PatronymicStyle` and the shares
//! in `population`. Russian families use the Russian form.

use egov_trust::iin::Sex;

/// A given name for men, with the patronymic forms it gives children.
pub struct MaleName {
    pub name: &'static str,
    /// Son's and daughter's patronymic in the Russian form.
    pub russian_son: &'static str,
    pub russian_daughter: &'static str,
}

macro_rules! male_names {
    ($($name:literal: $son:literal, $daughter:literal;)+) => {
        &[$(MaleName { name: $name, russian_son: $son, russian_daughter: $daughter }),+]
    };
}

pub const KAZAKH_MALE: &[MaleName] = male_names! {
    "Нұрлан": "Нұрланович", "Нұрлановна";
    "Ерлан": "Ерланович", "Ерлановна";
    "Серік": "Серікович", "Серіковна";
    "Асхат": "Асхатович", "Асхатовна";
    "Бауыржан": "Бауыржанович", "Бауыржановна";
    "Дәурен": "Дәуренович", "Дәуреновна";
    "Ержан": "Ержанович", "Ержановна";
    "Қайрат": "Қайратович", "Қайратовна";
    "Марат": "Маратович", "Маратовна";
    "Талғат": "Талғатович", "Талғатовна";
    "Ғалым": "Ғалымович", "Ғалымовна";
    "Арман": "Арманович", "Армановна";
    "Болат": "Болатович", "Болатовна";
    "Дархан": "Дарханович", "Дархановна";
    "Ерболат": "Ерболатович", "Ерболатовна";
    "Жандос": "Жандосович", "Жандосовна";
    "Қанат": "Қанатович", "Қанатовна";
    "Мұрат": "Мұратович", "Мұратовна";
    "Нұржан": "Нұржанович", "Нұржановна";
    "Самат": "Саматович", "Саматовна";
    "Тимур": "Тимурович", "Тимуровна";
    "Әлихан": "Әлиханович", "Әлихановна";
    "Ақжол": "Ақжолович", "Ақжоловна";
    "Ернар": "Ернарович", "Ернаровна";
    "Азамат": "Азаматович", "Азаматовна";
    "Алмас": "Алмасович", "Алмасовна";
    "Айдос": "Айдосович", "Айдосовна";
    "Бекзат": "Бекзатович", "Бекзатовна";
    "Дамир": "Дамирович", "Дамировна";
    "Олжас": "Олжасович", "Олжасовна";
    "Санжар": "Санжарович", "Санжаровна";
    "Темірлан": "Темірланович", "Темірлановна";
    "Асқар": "Асқарович", "Асқаровна";
    "Мұхтар": "Мұхтарович", "Мұхтаровна";
    "Абай": "Абаевич", "Абаевна";
    "Жанболат": "Жанболатович", "Жанболатовна";
    "Ербол": "Ерболович", "Ерболовна";
    "Руслан": "Русланович", "Руслановна";
    "Әділет": "Әділетович", "Әділетовна";
    "Нұрсұлтан": "Нұрсұлтанович", "Нұрсұлтановна";
};

pub const KAZAKH_FEMALE: &[&str] = &[
    "Айгүл",
    "Айжан",
    "Гүлнар",
    "Динара",
    "Жанар",
    "Әсем",
    "Аружан",
    "Ақмарал",
    "Гүлмира",
    "Дана",
    "Жадыра",
    "Жансая",
    "Зарина",
    "Индира",
    "Қарлығаш",
    "Ләззат",
    "Мадина",
    "Меруерт",
    "Назерке",
    "Нұргүл",
    "Сәуле",
    "Салтанат",
    "Томирис",
    "Айару",
    "Аяулым",
    "Балнұр",
    "Дильназ",
    "Камила",
    "Әйгерім",
    "Гаухар",
    "Алия",
    "Ақбота",
    "Мөлдір",
    "Самал",
    "Шолпан",
    "Ботагөз",
];

pub const KAZAKH_SURNAMES: &[&str] = &[
    "Ахметов",
    "Әбенов",
    "Байжанов",
    "Бекмағамбетов",
    "Жақсыбеков",
    "Жұмабаев",
    "Исабеков",
    "Қасымов",
    "Құдайбергенов",
    "Мұқанов",
    "Нұрланов",
    "Оспанов",
    "Сәрсенбаев",
    "Серікбаев",
    "Смағұлов",
    "Сүлейменов",
    "Тоқаев",
    "Төлегенов",
    "Хасенов",
    "Шәріпов",
    "Ержанов",
    "Әлиев",
    "Бейсенов",
    "Досмұхамбетов",
    "Жексенбаев",
    "Ибраев",
    "Кенжебаев",
    "Мамыров",
    "Нұрпейісов",
    "Омаров",
    "Рахимов",
    "Сәтбаев",
    "Тұрсынов",
    "Өтебаев",
    "Байтұрсынов",
    "Есенов",
    "Қалиев",
    "Мырзахметов",
    "Әуезов",
    "Бөкейханов",
];

pub const RUSSIAN_MALE: &[MaleName] = male_names! {
    "Александр": "Александрович", "Александровна";
    "Алексей": "Алексеевич", "Алексеевна";
    "Андрей": "Андреевич", "Андреевна";
    "Дмитрий": "Дмитриевич", "Дмитриевна";
    "Сергей": "Сергеевич", "Сергеевна";
    "Николай": "Николаевич", "Николаевна";
    "Владимир": "Владимирович", "Владимировна";
    "Виктор": "Викторович", "Викторовна";
    "Евгений": "Евгеньевич", "Евгеньевна";
    "Игорь": "Игоревич", "Игоревна";
    "Иван": "Иванович", "Ивановна";
    "Михаил": "Михайлович", "Михайловна";
    "Павел": "Павлович", "Павловна";
    "Олег": "Олегович", "Олеговна";
    "Юрий": "Юрьевич", "Юрьевна";
    "Максим": "Максимович", "Максимовна";
    "Артём": "Артёмович", "Артёмовна";
    "Денис": "Денисович", "Денисовна";
    "Роман": "Романович", "Романовна";
    "Константин": "Константинович", "Константиновна";
    "Вадим": "Вадимович", "Вадимовна";
    "Антон": "Антонович", "Антоновна";
    "Геннадий": "Геннадьевич", "Геннадьевна";
    "Василий": "Васильевич", "Васильевна";
    "Пётр": "Петрович", "Петровна";
    "Григорий": "Григорьевич", "Григорьевна";
    "Степан": "Степанович", "Степановна";
    "Кирилл": "Кириллович", "Кирилловна";
    "Егор": "Егорович", "Егоровна";
    "Станислав": "Станиславович", "Станиславовна";
};

pub const RUSSIAN_FEMALE: &[&str] = &[
    "Анна",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Светлана",
    "Мария",
    "Екатерина",
    "Юлия",
    "Анастасия",
    "Галина",
    "Людмила",
    "Марина",
    "Надежда",
    "Валентина",
    "Вера",
    "Дарья",
    "Ксения",
    "Алина",
    "Полина",
    "Виктория",
    "Любовь",
    "Оксана",
    "Софья",
];

pub const RUSSIAN_SURNAMES: &[&str] = &[
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кириллов",
    "Ильин",
    "Гусев",
    "Титов",
    "Кузьмин",
    "Белов",
    "Комаров",
];

/// Which naming tradition a family follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ethnicity {
    Kazakh,
    Russian,
}

/// How a family writes its children's patronymics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatronymicStyle {
    /// Серікович / Серіковна.
    Russian,
    /// Серікұлы / Серікқызы.
    Kazakh,
    /// No patronymic ("if any", seed 002).
    None,
}

pub fn male_names(ethnicity: Ethnicity) -> &'static [MaleName] {
    match ethnicity {
        Ethnicity::Kazakh => KAZAKH_MALE,
        Ethnicity::Russian => RUSSIAN_MALE,
    }
}

pub fn female_names(ethnicity: Ethnicity) -> &'static [&'static str] {
    match ethnicity {
        Ethnicity::Kazakh => KAZAKH_FEMALE,
        Ethnicity::Russian => RUSSIAN_FEMALE,
    }
}

pub fn surnames(ethnicity: Ethnicity) -> &'static [&'static str] {
    match ethnicity {
        Ethnicity::Kazakh => KAZAKH_SURNAMES,
        Ethnicity::Russian => RUSSIAN_SURNAMES,
    }
}

/// The surname as a person of this sex writes it.
pub fn surname_for(male_form: &str, sex: Sex) -> String {
    match sex {
        Sex::Male => male_form.to_owned(),
        Sex::Female => format!("{male_form}а"),
    }
}

/// The patronymic a child of this sex takes from the father's given name.
pub fn patronymic(father: &MaleName, sex: Sex, style: PatronymicStyle) -> Option<String> {
    match (style, sex) {
        (PatronymicStyle::None, _) => None,
        (PatronymicStyle::Russian, Sex::Male) => Some(father.russian_son.to_owned()),
        (PatronymicStyle::Russian, Sex::Female) => Some(father.russian_daughter.to_owned()),
        (PatronymicStyle::Kazakh, Sex::Male) => Some(format!("{}ұлы", father.name)),
        (PatronymicStyle::Kazakh, Sex::Female) => Some(format!("{}қызы", father.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surnames_take_the_female_ending_and_patronymics_follow_the_father() {
        assert_eq!(surname_for("Ильин", Sex::Female), "Ильина");
        assert_eq!(surname_for("Ахметов", Sex::Male), "Ахметов");
        let serik = &KAZAKH_MALE[2];
        assert_eq!(
            patronymic(serik, Sex::Female, PatronymicStyle::Kazakh).as_deref(),
            Some("Серікқызы")
        );
        assert_eq!(
            patronymic(serik, Sex::Male, PatronymicStyle::Russian).as_deref(),
            Some("Серікович")
        );
        assert_eq!(patronymic(serik, Sex::Male, PatronymicStyle::None), None);
    }

    #[test]
    fn every_surname_has_a_male_form_that_takes_the_female_ending() {
        for surname in KAZAKH_SURNAMES.iter().chain(RUSSIAN_SURNAMES) {
            assert!(
                surname.ends_with("ов")
                    || surname.ends_with("ев")
                    || surname.ends_with("ёв")
                    || surname.ends_with("ин"),
                "{surname}"
            );
        }
    }
}
