//! Groups: a proposed multi-stakeholder group satisfies the rule (a workers' and an
//! employers' organisation and at least two other groups); when none can, the report names
//! the missing requirement; the city-to-city coverage counts the kinds covered.

mod util;

use util::{code, repo, stderr, Dir};

fn groups(dir: &Dir, args: &[&str]) -> String {
    let output = dir.run(&[&["groups"], args].concat());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_valid_group_meets_the_rule_and_a_missing_requirement_is_named() {
    let dir = Dir::new();
    let report = groups(&dir, &["--partner", "country-ken"]);
    assert!(report.contains("Valid: a workers' organisation, an employers' organisation and 3 other groups"), "{report}");
    let members: Vec<&str> = report.lines().skip_while(|l| !l.starts_with("Valid:")).skip(1).take_while(|l| l.starts_with("- ")).collect();
    assert_eq!(members.len(), 5, "{report}");
    assert!(members[0].starts_with("- workers' organisation: ") && members[0].contains("organisation, "));
    assert!(members[1].starts_with("- employers' organisation: ") && members[1].contains("employers_organisation"));
    let others: std::collections::BTreeSet<&str> = members[2..].iter().map(|m| m.split(':').next().unwrap()).collect();
    assert_eq!(others.len(), 3, "three distinct other groups: {others:?}");
    assert!(report.contains("Coverage 7/7 = 1.00"), "{report}");

    let profiles = repo("data/examples/profiles.csv");
    let report = groups(&dir, &["--partner", "kenasvit", "--profiles", profiles.to_str().unwrap()]);
    assert!(report.contains("No valid group: no employers' organisation sharing a theme in Africa."), "{report}");
    let theme = groups(&dir, &["--theme", "child_labour", "--region", "Oceania"]);
    assert!(theme.contains("no workers' organisation sharing a theme in Oceania"), "{theme}");
    assert!(theme.contains("Coverage 1/7"), "{theme}");

    let typo = dir.run(&["groups", "--theme", "child_labor"]);
    assert_eq!(code(&typo), 2);
    assert!(stderr(&typo).contains("did you mean 'child_labour'?"), "{}", stderr(&typo));
}
