//! Modality: what kind of cooperation a pair of partners would be.
//!
//! Input: two partners' [`PartnerFeatures`] (development status, kind flags) and the
//! configured [`TriangularDefinition`]. Output: one [`Modality`]. The first rule that fits
//! wins, from the most specific to the most general:
//!
//! | modality | when |
//! |---|---|
//! | `multi_stakeholder` | either side is a multi-stakeholder initiative |
//! | `trade_union_sse` | a workers' organisation with a social and solidarity economy unit |
//! | `domestic` | both in the same country: not international cooperation, so never counted as South-South, triangular or North-South |
//! | `city_to_city` | both are local authorities, their agencies or city networks, in the same hemisphere (South–South or North–North peers) |
//! | `decentralised` | the same between a northern and a southern local government |
//! | `triangular` | one side supports the other as the third partner of a South-South exchange, by the definition in force (below) |
//! | `south_south` | both in developing countries (two different ones) |
//! | `north_south` | one in a developing country, one not |
//! | `north_north` | neither in a developing country |
//!
//! Triangular definitions (the sources differ, so it is a setting): **A** the supporting side
//! is a northern funder (a donor, or a partner with the `funder` role, in a developed
//! country); **B** it is a northern funder or an international organisation (UN agency,
//! multilateral, regional organisation); **C** it is a multilateral institution (UN agency
//! or multilateral body) wherever it sits. In each case the supported side is in a
//! developing country.

use crate::engine::features::{kind, PartnerFeatures};

/// The kinds of cooperation a pair can be. Flags spell them in kebab case
/// (`south-south`, snake case accepted too); outputs and the manifest in snake case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Two or more developing countries' partners.
    #[value(alias = "south_south")]
    SouthSouth,
    /// A South-South exchange supported by a third partner (one leg of the triangle).
    Triangular,
    /// Local governments cooperating peer to peer.
    #[value(alias = "city_to_city")]
    CityToCity,
    /// A northern and a southern local government.
    Decentralised,
    /// A developed-country partner with a developing-country partner.
    #[value(alias = "north_south")]
    NorthSouth,
    /// Two developed-country partners.
    #[value(alias = "north_north")]
    NorthNorth,
    /// A trade union with a social and solidarity economy unit.
    #[value(alias = "trade_union_sse")]
    TradeUnionSse,
    /// A pair that includes a multi-stakeholder initiative.
    #[value(alias = "multi_stakeholder")]
    MultiStakeholder,
    /// Two partners of the same country.
    Domestic,
}

impl Modality {
    /// Every modality.
    pub const ALL: [Modality; 9] = [
        Modality::SouthSouth,
        Modality::Triangular,
        Modality::CityToCity,
        Modality::Decentralised,
        Modality::NorthSouth,
        Modality::NorthNorth,
        Modality::TradeUnionSse,
        Modality::MultiStakeholder,
        Modality::Domestic,
    ];

    /// The output and flag spelling.
    pub fn name(self) -> &'static str {
        match self {
            Modality::SouthSouth => "south_south",
            Modality::Triangular => "triangular",
            Modality::CityToCity => "city_to_city",
            Modality::Decentralised => "decentralised",
            Modality::NorthSouth => "north_south",
            Modality::NorthNorth => "north_north",
            Modality::TradeUnionSse => "trade_union_sse",
            Modality::MultiStakeholder => "multi_stakeholder",
            Modality::Domestic => "domestic",
        }
    }

    /// Words for a sentence: "South-South", "city-to-city", ...
    pub fn describe(self) -> &'static str {
        match self {
            Modality::SouthSouth => "South-South",
            Modality::Triangular => "triangular",
            Modality::CityToCity => "city-to-city",
            Modality::Decentralised => "decentralised (North-South city)",
            Modality::NorthSouth => "North-South",
            Modality::NorthNorth => "North-North",
            Modality::TradeUnionSse => "trade union - SSE",
            Modality::MultiStakeholder => "multi-stakeholder",
            Modality::Domestic => "domestic",
        }
    }
}

/// Which triangular definition is in force (`a`, `b` or `c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lower")]
pub enum TriangularDefinition {
    /// Southern provider + southern beneficiary + northern funder.
    A,
    /// South + North + an international organisation.
    B,
    /// Three or more developing countries and/or a multilateral institution.
    C,
}

impl TriangularDefinition {
    /// Whether `supporter` may support a South-South exchange as its third partner.
    pub fn supports(self, f: &PartnerFeatures, supporter: usize) -> bool {
        let flags = f.kind[supporter];
        match self {
            TriangularDefinition::A => !f.developing[supporter] && flags & kind::FUNDER != 0,
            TriangularDefinition::B => {
                (!f.developing[supporter] && flags & kind::FUNDER != 0)
                    || flags & kind::INTERNATIONAL != 0
            }
            TriangularDefinition::C => flags & kind::MULTILATERAL != 0,
        }
    }
}

/// Whether two partners would be a South-South exchange: both in developing countries, and
/// not the same one.
pub fn south_south(f: &PartnerFeatures, i: usize, j: usize) -> bool {
    f.developing[i] && f.developing[j] && f.country[i] != f.country[j]
}

/// The modality of a pair; symmetric in (i, j).
pub fn classify(f: &PartnerFeatures, i: usize, j: usize, triangular: TriangularDefinition) -> Modality {
    let (a, b) = (f.kind[i], f.kind[j]);
    let either = |flag: u8| (a | b) & flag != 0;
    let one_each = |x: u8, y: u8| (a & x != 0 && b & y != 0) || (a & y != 0 && b & x != 0);
    let (south_i, south_j) = (f.developing[i], f.developing[j]);
    if either(kind::MSP) {
        Modality::MultiStakeholder
    } else if one_each(kind::UNION, kind::SSE) {
        Modality::TradeUnionSse
    } else if f.country[i] == f.country[j] {
        Modality::Domestic
    } else if a & b & kind::LOCAL_GOVERNMENT != 0 {
        if south_i == south_j {
            Modality::CityToCity
        } else {
            Modality::Decentralised
        }
    } else if (triangular.supports(f, i) && south_j) || (triangular.supports(f, j) && south_i) {
        Modality::Triangular
    } else {
        match (south_i, south_j) {
            (true, true) => Modality::SouthSouth,
            (false, false) => Modality::NorthNorth,
            _ => Modality::NorthSouth,
        }
    }
}
