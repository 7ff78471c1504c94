//! Ingest: one case per problem class of the profile contract. Each asserts the exact
//! reject row (file, row, column, value, reason) and that every good row still reaches the
//! shortlist, with exit code 1.

mod util;

use util::{code, stderr, Csv, Dir};

const HEADER: &str = "id,name,actor_type,country_iso3,city,lat,lon,offers,needs,v_solidarity";
const GOOD: [&str; 3] = [
    "good-a,Good A,local_authority,SEN,Dakar,,,urban_development,informal_economy,0.8",
    "good-b,Good B,sse_unit,SEN,Thiès,,,informal_economy,urban_development,0.9",
    "good-c,Good C,workers_organisation,CIV,Abidjan,,,labour_rights,informal_economy,",
];

/// Runs the job on the good rows followed by `bad` rows; returns the rejects as
/// (row, column, value, reason) and checks the good rows were all matched.
fn rejects_of(bad: &[&str]) -> Vec<(String, String, String, String)> {
    let dir = Dir::new();
    let mut lines = vec![HEADER.to_string()];
    lines.extend(GOOD.iter().map(|s| s.to_string()));
    lines.extend(bad.iter().map(|s| s.to_string()));
    let file = dir.write("profiles.csv", &(lines.join("\n") + "\n"));
    let output = dir.run(&[
        "run", "--profiles", file.to_str().unwrap(), "--out", "out", "--model-dir", "m", "-q",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let partners = Csv::read(&dir.path("out/shortlist.csv")).column("partner_id");
    for good in ["good-a", "good-b", "good-c"] {
        assert!(partners.iter().any(|p| p == good), "{good} reached the shortlist");
    }
    let rejects = Csv::read(&dir.path("out/rejects.csv"));
    (0..rejects.len())
        .map(|r| {
            assert_eq!(rejects.get(r, "file"), file.to_str().unwrap(), "names the file");
            (
                rejects.get(r, "row"),
                rejects.get(r, "column"),
                rejects.get(r, "value"),
                rejects.get(r, "reason"),
            )
        })
        .collect()
}

fn one(row: &str, column: &str, value: &str, reason: &str) -> Vec<(String, String, String, String)> {
    vec![(row.into(), column.into(), value.into(), reason.into())]
}

#[test]
fn duplicate_id_rejects_every_row_with_it() {
    let got = rejects_of(&[
        "dup,Duplicate One,cso_ngo,KEN,,,,,,",
        "dup,Duplicate Two,cso_ngo,KEN,,,,,,",
    ]);
    let reason = |other: &str| format!("duplicate id: also on row(s) {other}; every row with this id is rejected because it is unclear which is current; keep one");
    assert_eq!(
        got,
        vec![
            ("4".into(), "id".into(), "dup".into(), reason("5")),
            ("5".into(), "id".into(), "dup".into(), reason("4")),
        ]
    );
}

#[test]
fn unknown_vocabulary_id_suggests_the_closest() {
    assert_eq!(
        rejects_of(&["typo,Typo,cso_ngo,KEN,,,,,social_protecton,"]),
        one("4", "needs", "social_protecton", "unknown theme id 'social_protecton'; did you mean 'social_protection'?")
    );
    assert_eq!(
        rejects_of(&["far,Far Off,zzz,KEN,,,,,,"]),
        one("4", "actor_type", "zzz", "unknown actor type id 'zzz'; see data/vocabulary for the actor type ids")
    );
}

#[test]
fn bad_number_is_rejected() {
    assert_eq!(
        rejects_of(&["num,Bad Number,academia,BRA,,abc,-47.9,,,"]),
        one("4", "lat", "abc", "'abc' is not a number (latitude)")
    );
    assert_eq!(
        rejects_of(&["val,Bad Value,academia,BRA,,,,,,1.5"]),
        one("4", "v_solidarity", "1.5", "value score 1.5 is outside [0, 1]")
    );
}

#[test]
fn latitude_out_of_range_is_rejected() {
    assert_eq!(
        rejects_of(&["far,Far Latitude,academia,BRA,,95,-47.9,,,"]),
        one("4", "lat", "95", "latitude 95 is outside [-90, 90]")
    );
}

#[test]
fn unknown_country_code_is_rejected() {
    assert_eq!(
        rejects_of(&["nowhere,Nowhere,academia,XXX,,,,,,"]),
        one("4", "country_iso3", "XXX", "unknown country code 'XXX'; use an ISO 3166-1 alpha-3 code as in data/reference/countries.csv")
    );
}

#[test]
fn empty_required_field_is_rejected() {
    assert_eq!(
        rejects_of(&["noname,,academia,IND,,,,,,"]),
        one("4", "name", "", "required field is empty; fill it in")
    );
}

#[test]
fn several_problems_of_one_row_are_all_reported() {
    let got = rejects_of(&["multi,Multi,academia,XXX,,95,,,,"]);
    let columns: Vec<&str> = got.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(columns, vec!["country_iso3", "lat", "lon"]);
}
