"""Word lists the world generator draws profile text from.

Human and bot vocabularies overlap on purpose (bots borrow human bios, humans post
links), so that text alone cannot separate them.  Bot link domains use the reserved
``.example`` top-level domain so a report never points anyone at a real site; the
shorteners in front of them (bit.ly and friends) are real names, as on the platform.
"""

from __future__ import annotations

__all__ = [
    "FIRST_NAMES",
    "LAST_NAMES",
    "CITIES",
    "INTERESTS",
    "JOBS",
    "HUMAN_BIOS",
    "FLOWER_NAMES",
    "FLOWER_FIRST_NAMES",
    "FLOWER_BIOS",
    "FARM_BIOS",
    "HUMAN_DOMAINS",
    "SHORTENERS",
    "CAMPAIGN_WORDS",
    "TWEET_TEXTS",
    "BOT_TWEETS",
    "ODD_NAMES",
    "ODD_BIOS",
]

FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
    "Kate", "Liam", "Maria", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tara",
    "Umar", "Vera", "Will", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Chloe", "Dmitri",
    "Emma", "Felix", "Gina", "Hassan", "Ivy", "Jonas", "Kira", "Leo", "Mei", "Nina",
    "Oscar", "Priya", "Rafael", "Sofia", "Tom", "Uma", "Victor", "Wen", "Yara", "Zack",
    "Amelie", "Bilal", "Camille", "Diego", "Emily", "Fatima", "George", "Hana", "Ivan", "Julia",
    "Kenji", "Lucia", "Mateo", "Nora", "Omar", "Paula", "Ravi", "Sara", "Theo", "Valentina",
)

LAST_NAMES = (
    "Smith", "Garcia", "Müller", "Rossi", "Kowalski", "Nguyen", "Okafor", "Silva", "Tanaka",
    "Johnson", "Brown", "Dubois", "Ivanova", "Khan", "Lopez", "Martin", "Novak", "Olsen",
    "Patel", "Quispe", "Reyes", "Schmidt", "Torres", "Usman", "Varga", "Wilson", "Yilmaz",
    "Zhang", "Andersen", "Becker", "Costa", "Diaz", "Evans", "Fischer", "Gomez", "Hughes",
    "Ito", "Jansen", "Kim", "Larsen", "Moreau", "Nowak", "O'Brien", "Perez", "Ramos",
)

CITIES = (
    "London", "Paris", "Berlin", "New York, NY", "Los Angeles", "Chicago, IL", "Toronto",
    "Madrid", "Rome", "Lagos", "Nairobi", "São Paulo", "Mexico City", "Tokyo", "Seoul",
    "Mumbai", "Sydney", "Dublin", "Amsterdam", "Warsaw", "Istanbul", "Cairo", "Austin, TX",
    "Manchester", "Lyon", "Hamburg", "Milano", "Barcelona", "Lisboa", "Oslo", "Helsinki",
    "somewhere", "Earth", "the internet", "🌍",
)

INTERESTS = (
    "coffee", "running", "jazz", "football", "cycling", "photography", "gardening", "chess",
    "hiking", "baking", "sci-fi", "poetry", "climbing", "cats", "dogs", "vinyl", "podcasts",
    "open source", "birding", "travel", "yoga", "anime", "board games", "cooking", "film",
    "politics", "history", "astronomy", "knitting", "surfing", "F1", "crypto", "fitness",
)

JOBS = (
    "teacher", "nurse", "software engineer", "designer", "journalist", "student", "researcher",
    "data scientist", "chef", "lawyer", "photographer", "writer", "PhD candidate",
    "product manager", "doctor", "barista", "architect", "musician", "farmer", "librarian",
    "mum of two", "dad", "retired", "entrepreneur", "marketing", "sales", "accountant",
)

HUMAN_BIOS = (
    "{job}. {interest} & {interest2}. Opinions my own.",
    "{job} in {city}. Into {interest}.",
    "{interest} enthusiast | {job} | she/her",
    "{interest} enthusiast | {job} | he/him",
    "Just a {job} who loves {interest}.",
    "{city} ➜ {city2}. {interest}, {interest2}, more {interest}.",
    "{job} by day, {interest} by night",
    "Tweets about {interest}, {interest2} and whatever else.",
    "RT ≠ endorsement. {job}.",
    "{interest} · {interest2} · {job}",
    "Living my best life in {city} ✨",
    "{job} @ a company you have heard of. {interest}.",
)

FLOWER_FIRST_NAMES = (
    "Anna", "Carla", "Elena", "Grace", "Ines", "Kate", "Maria", "Olga", "Rosa", "Tara",
    "Vera", "Zoe", "Chloe", "Emma", "Gina", "Ivy", "Kira", "Mei", "Nina", "Sofia", "Amelie",
    "Camille", "Emily", "Julia", "Lucia", "Nora", "Paula", "Sara", "Valentina", "Jessica",
    "Ashley", "Brittany", "Megan", "Lexi", "Candy", "Destiny",
)

FLOWER_NAMES = (
    "{first} 💋", "{first} ❤️", "Sweet {first}", "{first} xoxo", "{first} 🌸", "Lonely {first}",
    "{first} {last}", "{first}", "{first} 😘", "Miss {first}",
)

FLOWER_BIOS = (
    "Looking for a serious man 💋 {link}",
    "Lonely tonight? Let's chat ❤️ {link}",
    "New photos every day, come see 😘 {link}",
    "Real girls near you. 18+ only {link}",
    "I like long walks and honest men. Write me here {link}",
    "{interest} lover, looking for someone special {link}",
    "Don't be shy 🌸 {link}",
    "My private page ➡️ {link}",
)

FARM_BIOS = (
    "", "", "Life is good", "Follow back", "Dreamer.", "{interest}", "God is great",
    "Be yourself", "Music is life 🎶", "{city}", "Team follow back #TFB",
)

HUMAN_DOMAINS = (
    "github.com", "youtube.com", "medium.com", "linkedin.com", "instagram.com",
    "substack.com", "soundcloud.com", "etsy.com", "patreon.com", "wordpress.com",
)

SHORTENERS = ("bit.ly", "goo.gl", "ow.ly", "tinyurl.com")

CAMPAIGN_WORDS = (
    "sweetmeet", "hotchat", "datenow", "lovecam", "kissme", "findlove", "flirtzone",
    "cutiepie", "amourlive", "heartlink", "meetgirls", "privpics",
)

TWEET_TEXTS = (
    "Good morning {city}! ☕",
    "Can't believe how good this {interest} session was",
    "Anyone else into {interest}? Looking for recommendations",
    "Long day at work. {job} life.",
    "Hot take: {interest} is underrated",
    "Reading about {interest2} tonight",
    "This thread on {interest} is great",
    "Finally some sun in {city}",
)

BOT_TWEETS = (
    "Hey 😘 come chat with me {link}",
    "New pics just for you 💋 {link}",
    "Who wants to talk tonight? {link}",
    "Follow me and I follow back ❤️",
)

# A few accounts carry markup and quoting in their text, as real profiles do, so that
# every consumer has to escape what it shows.
ODD_NAMES = (
    "Tom <3 \"music\" & art",
    "<b>Ali</b>",
    "Zoë 'the coder' ⚡",
    "R&D dept.",
)

ODD_BIOS = (
    "My site: <a href=\"https://example.com\">click</a> & say hi",
    "<script>alert('hi')</script> just kidding",
    "Fan of \"quotes\" & <angle brackets>",
    "1 < 2 && 3 > 2",
)
