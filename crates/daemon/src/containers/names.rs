//! Container names: validation (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`) and random
//! `adjective_surname` names as Docker generates them.

use berth_api::Error;

const ADJECTIVES: &[&str] = &[
    "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful",
    "blissful", "bold", "boring", "brave", "busy", "charming", "clever", "compassionate",
    "competent", "condescending", "confident", "cool", "cranky", "crazy", "dazzling", "determined",
    "distracted", "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent",
    "epic", "exciting", "fervent", "festive", "flamboyant", "focused", "friendly", "frosty",
    "funny", "gallant", "gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic",
    "hopeful", "hungry", "infallible", "inspiring", "intelligent", "interesting", "jolly",
    "jovial", "keen", "kind", "laughing", "loving", "lucid", "magical", "modest", "musing",
    "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic",
    "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical",
    "recursing", "relaxed", "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy",
    "stoic", "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting",
    "unruffled", "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial",
    "youthful", "zealous", "zen",
];

const SURNAMES: &[&str] = &[
    "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata", "austin",
    "babbage", "banach", "bardeen", "bartik", "bassi", "bell", "benz", "bhabha", "bhaskara",
    "blackwell", "bohr", "booth", "borg", "bose", "boyd", "brahmagupta", "brattain", "brown",
    "carson", "cartwright", "chandrasekhar", "chaplygin", "chatelet", "chebyshev", "clarke",
    "colden", "cori", "cray", "curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley",
    "edison", "einstein", "elion", "engelbart", "euclid", "euler", "faraday", "feistel", "fermat",
    "fermi", "feynman", "franklin", "gagarin", "galileo", "gates", "gauss", "germain", "goldberg",
    "goldstine", "goldwasser", "golick", "goodall", "hamilton", "hawking", "heisenberg", "hellman",
    "hermann", "herschel", "hertz", "hodgkin", "hofstadter", "hoover", "hopper", "hugle", "hypatia",
    "jackson", "jang", "jennings", "jepsen", "johnson", "joliot", "jones", "kalam", "kapitsa",
    "kare", "keldysh", "keller", "kepler", "khorana", "kilby", "kirch", "knuth", "kowalevski",
    "lalande", "lamarr", "lamport", "leakey", "leavitt", "lehmann", "lewin", "lichterman", "liskov",
    "lovelace", "lumiere", "mahavira", "margulis", "matsumoto", "maxwell", "mayer", "mccarthy",
    "mcclintock", "mclean", "mcnulty", "meitner", "mendel", "mendeleev", "merkle", "mestorf",
    "mirzakhani", "montalcini", "moore", "morse", "moser", "napier", "nash", "neumann", "newton",
    "nightingale", "nobel", "noether", "northcutt", "noyce", "panini", "pare", "pascal", "pasteur",
    "payne", "perlman", "pike", "poincare", "poitras", "proskuriakova", "ptolemy", "raman",
    "ramanujan", "rhodes", "ride", "ritchie", "robinson", "roentgen", "rosalind", "rubin", "saha",
    "sammet", "sanderson", "satoshi", "shamir", "shannon", "shaw", "shirley", "shockley", "sinoussi",
    "snyder", "solomon", "spence", "stonebraker", "sutherland", "swanson", "swartz", "swirles",
    "taussig", "tesla", "tharp", "thompson", "torvalds", "tu", "turing", "varahamihira", "vaughan",
    "villani", "visvesvaraya", "volhard", "wescoff", "wilbur", "wiles", "williams", "williamson",
    "wilson", "wing", "wozniak", "wright", "wu", "yalow", "yonath", "zhukovsky",
];

/// A random `adjective_surname` (never `boring_wozniak`, as in Docker).
pub fn random_name(retry: u32) -> String {
    loop {
        let a = ADJECTIVES[rand::random_range(0..ADJECTIVES.len())];
        let s = SURNAMES[rand::random_range(0..SURNAMES.len())];
        if a == "boring" && s == "wozniak" {
            continue;
        }
        return if retry > 0 {
            format!("{a}_{s}{}", rand::random_range(0..10))
        } else {
            format!("{a}_{s}")
        };
    }
}

/// Checks a requested name (a leading `/` is allowed and dropped).
pub fn validate(name: &str) -> Result<String, Error> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut chars = bare.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {
            bare.len() >= 2 && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        }
        _ => false,
    };
    if !ok {
        return Err(Error::invalid(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    Ok(bare.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert_eq!(validate("web").unwrap(), "web");
        assert_eq!(validate("/web-1.a_b").unwrap(), "web-1.a_b");
        assert!(validate("a").is_err());
        assert!(validate("-web").is_err());
        assert!(validate("we b").is_err());
        assert!(validate("").is_err());
        assert!(validate("web/x").is_err());
    }

    #[test]
    fn random_names_are_valid() {
        for i in 0..50 {
            let n = random_name(i % 2);
            assert!(validate(&n).is_ok(), "{n}");
            assert!(n.contains('_'));
        }
    }
}
