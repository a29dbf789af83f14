//! The regulations' channel and stage to and from the employees' API (the
//! workstation's own enums carry their proto mapping with them).

use egov_proto::workstation as pb;
use egov_regulations::{Channel, Stage};

pub fn channel_to_proto(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Portal => pb::Channel::Portal,
        Channel::StateCorporation => pb::Channel::StateCorporation,
        Channel::ProviderOffice => pb::Channel::ProviderOffice,
    }
}

/// None for an unspecified or unknown channel.
pub fn channel_from_proto(channel: i32) -> Option<Channel> {
    match pb::Channel::try_from(channel).ok()? {
        pb::Channel::Portal => Some(Channel::Portal),
        pb::Channel::StateCorporation => Some(Channel::StateCorporation),
        pb::Channel::ProviderOffice => Some(Channel::ProviderOffice),
        pb::Channel::Unspecified => None,
    }
}

pub fn stage_to_proto(stage: Stage) -> pb::Stage {
    match stage {
        Stage::Register => pb::Stage::Register,
        Stage::Assign => pb::Stage::Assign,
        Stage::Examine => pb::Stage::Examine,
        Stage::Sign => pb::Stage::Sign,
        Stage::Issue => pb::Stage::Issue,
    }
}
