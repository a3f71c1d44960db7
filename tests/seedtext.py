"""Text from our first user's WordPress archive (two listing pages of it), for test fixtures:
the listing entries (title, date, opening words) and six whole posts as WordPress stores them.
"""

from __future__ import annotations

LISTED: list[tuple[str, str, str]] = [
    (
        "When They Want the Supervisor",
        "1/27/26",
        "Maybe you did your best with the customer, or maybe the customer didn’t even give you a "
        "chance.\xa0 They want to talk to your supervisor.\xa0 They see you, notice your title does "
        "not have “supervisor” or “manager” or “director” or “President and CEO” in it, so they want "
        "to",
    ),
    (
        "Identify Your Point of Empathy",
        "1/20/26",
        "I was watching a webinar recently on empathy.\xa0 The speaker mentioned that empathy - to a "
        "large extent - is something that you are born with.\xa0 It’s something that’s very "
        "difficult to learn.\xa0 And while I agree that some people are predisposed to being "
        "empathetic and understanding of others",
    ),
    (
        "Pressure is a Privilege, but...",
        "1/13/26",
        "When athletes are asked about the pressure of a playoff match or a late-game situation, "
        "many times they will say that “pressure is a privilege.” \xa0In other words, usually "
        "pressure exists because you’re in a match that matters most.\xa0 It exists because you are "
        "a player put in a",
    ),
    (
        "While I’ve Got You on the Phone…",
        "1/6/26",
        "I’m a big planner. \xa0Whether it’s strategic planning or planning out the year or planning "
        "my week first thing on a Monday morning, I like to plan. \xa0I do this because it gets all "
        "of my action items documented and ensures that I have some understanding of what I",
    ),
    (
        "Pass the Quick Impression Test",
        "12/30/25",
        "Some studies have shown that people create an impression of you in less than a second when "
        "they first meet you face-to-face. \xa0Other studies have shown that that initial impression "
        "can take up to 7 seconds. \xa0Regardless, first impressions are quick. \xa0First "
        "impressions are not always the lasting impression,",
    ),
    (
        "2025 Holiday Poem",
        "12/23/25",
        "We hear the word change And that change can be good, But we like things to stay same, And "
        "sometimes they should. \xa0 The weather can be wet And then dry as a bone. We know things "
        "will change, Even if all left alone. \xa0 Our customers change. Our co-workers do, too. It "
        "seems like our resources Are often too few. \xa0 The technology",
    ),
    (
        "Make the Long Wait Feel Shorter",
        "12/16/25",
        "When Greg entered the Tax Office, he was thinking only about two things: (1) How he was "
        "going to get the tax value on his home reduced, and (2) Whether the wait would be 1 hour or "
        "2.\xa0 He checked in with the navigator who asked a few questions,",
    ),
    (
        "When Kindness Means More in Customer Service",
        "12/9/25",
        "Since a large part of the work we do at CSS includes customer research, we have seen tens "
        "of thousands of comments over the years about staff, and it is great to hear the positives "
        "that customers, fans, and account holders say about our clients’ team members. One word "
        "that",
    ),
    (
        "Don’t Create the Second Complaint",
        "12/2/25",
        "Maria was upset.\xa0 Rightfully so.\xa0 The product delivery was delayed, she couldn’t get "
        "anybody on the phone, and nobody would reply to her e-mails.\xa0 So, she went down to the "
        "store, and she found a customer service representative. After the initial greeting, the "
        "employee listened to Maria’s complaint.\xa0 While Maria",
    ),
    (
        "Refresh on the Reasons to Appreciate the Customer",
        "11/25/25",
        "This is a great time of year to give thanks, not just because it’s Thanksgiving week in the "
        "United States, but also because – with 2025 coming to a close - it gives us the opportunity "
        "to do some reflecting on the recent past. The idea of reflecting on reasons",
    ),
    (
        "Tell Them Why You’re Giving Thanks",
        "12/3/24",
        "Thank you! Merci! Danke! Doumo! Gracias! It seems like every language has a translation of "
        "Thank You.\xa0 Even though I only fluently speak English and speak Spanish, un poco, I – "
        'and probably most of you – have heard some or all of the translations of "Thank You” noted '
        "above.",
    ),
    (
        "Refine Your Decision-making Process",
        "11/26/24",
        "Every day, you make decisions of what to do and what not to do. \xa0And in the world of "
        "customer service, often the affected parties are our customers, our co-workers, and our "
        "company. \xa0Here are a few quotes to consider when you’re thinking about evaluating and "
        "refining your decision-making",
    ),
    (
        "Acting on the Guiding Principles for Great Customer Service",
        "11/19/24",
        "In last week’s tip, we shared 5 Guiding Principles for Great Customer Service.\xa0 This "
        "week, let’s address what “taking action” looks like on those key principles.\xa0 If last "
        "week was about what to do and WHY, this week is about the HOW. Engage with Interest: To "
        "engage with interest, proactively",
    ),
    (
        "Guiding Principles for Great Customer Service",
        "11/12/24",
        "It’s hard to know every procedure, every policy, every technique possible to handle every "
        "situation correctly. \xa0After all, maybe our procedures are standard, but our customers "
        "are not. \xa0Maybe our policies stay pretty consistent, but our customers’ needs and "
        "issues, their attitudes and actions can change from customer to",
    ),
    (
        "From a Simple Question to an Exceptional Experience",
        "11/5/24",
        "Phyllis loves her job. \xa0It’s not just because she loves being a customer service "
        "representative, not just because she really likes her co-workers, and not just because she "
        "enjoys her company.\xa0 It’s because she really appreciates her customers, as well. A "
        "customer had ordered a register book off the company",
    ),
    (
        "Fix One Problem without Creating Another",
        "10/29/24",
        "If you’ve ever had an issue with your dishwasher, this will sound familiar. \xa0I’ve dealt "
        "with so many dishwashers over the years, and they always seem to have some kind of an "
        "issue. \xa0Maybe it’s because of the mix of water and technology, but for whatever reason, "
        "these never",
    ),
    (
        "Delight Your Customers",
        "10/22/24",
        "Buddy the Bug Man was different. \xa0His company was new, and the only reason why Janet "
        "tried him out was that the service she had used for years just wasn’t working. \xa0Whether "
        "it was mosquitoes in the yard, ants in the kitchen, or cockroaches flying through on their "
        "way",
    ),
    (
        "A More Complete Definition of Responsiveness",
        "10/15/24",
        "I was purchasing something recently that was being custom-developed. \xa0At one point, the "
        "company’s employee and I had a good 20 e-mails going back and forth - 10 from each of "
        "us. \xa0Unfortunately, I broke my own rule, and I did not pick up the phone after 2 or",
    ),
    (
        "Have a Game Plan to Address Their Anxiety",
        "10/8/24",
        "It seems like we all get deliveries - whether it is UPS, USPS, FedEx, Amazon, the local "
        "courier, or all the above. \xa0We order. \xa0They deliver. \xa0Or do they? It’s times like "
        "these, when we’re expecting that package, that item that we’re looking forward to or need "
        "urgently or are",
    ),
    (
        "How Persistence Saved the Day",
        "10/1/24",
        "Sherrie saw the customer walk into her store holding his cell phone, and Sherrie "
        "immediately knew that was William. \xa0She had spoken to William on the phone about an hour "
        "ago, he said he would be at Sherrie’s cell phone store in less than an hour, and there he",
    ),
]

WHOLE: list[tuple[str, str, str]] = [
    (
        "Use the Actions of Empathy",
        "4/9/19",
        "I firmly believe that the most important personal trait of someone in customer service is "
        "empathy. If empathy is understanding the other person, then it’s very difficult to truly "
        "serve someone that you don’t understand. Particularly when they’re upset or irate, being "
        "empathetic and getting them to feel your empathy can help to defuse the situation.\n"
        "\n"
        "But to make the customer feel your empathy, you not only have to empathize, but you’ve also "
        "got to convey that to the customer. So, work on these key empathy actions to S.E.N.D. the "
        "right message:\n"
        "\n"
        "<ul>\n"
        " <li><strong>Stop</strong> – Stop what you’re doing (e.g., paperwork, computer work, "
        "working on equipment, looking at cell phone, etc.). It makes them feel like you are their "
        "one priority at that time – that you want to understand.</li>\n"
        " <li><strong>Eyes</strong> – Make positive eye contact. It ensures that you’re not "
        "appearing distracted or upset. You appear focused on them.</li>\n"
        " <li><strong>Nod</strong> – Occasionally nod when they say something with which you agree. "
        "You’re showing you’re not a brick wall, like someone disagreeing “inside” even though "
        "you’re not verbally arguing. Instead, it shows you’re being understanding of their "
        "situation.</li>\n"
        " <li><strong>Document</strong> – Take a few notes as they talk. It conveys that what they "
        "have to say is important enough for you to get the facts/information right (FYI – Tell them "
        "why you’re writing so they don’t feel you’re doing other work.).</li>\n"
        "</ul>\n"
        "\n"
        "S.E.N.D. the right message. Convey empathy with your actions.",
    ),
    (
        "Customer for Life – The Third Step",
        "4/2/19",
        "Two weeks ago, we addressed the Second Step of keeping a Customer for Life: Never let a "
        "relationship go stale – keep the communication going. Now, we’re sharing the Third Step. To "
        "have a customer for life, you have to address what will keep them. Sounds simple, but this "
        "is the hardest part. Let’s assume that you’ve addressed the first 2 steps (knowing the "
        "customer and keeping the relationship fresh – the communications ongoing). Now you’ve got "
        "to address their retention-drivers.\n"
        "\n"
        "This is hard because you could have 10 different customers with 10 different reasons "
        "they’re with you, with 10 different reasons why they’d leave you. Mary may be with you for "
        "your responsiveness, and Mark is with you for convenience; Jennie is with you for a "
        "particular product feature, and Josh is with you because he receives great value. Renee "
        "wouldn’t leave as long as she’s treated consistently, and Rashaad wouldn’t leave as long as "
        "he’s treated like a king.\n"
        "\n"
        "You see, to have a Customer for Life, this 3rd step requires that you know each customer "
        "uniquely and – more importantly – you consciously address each one as unique. You have to "
        "be highly responsive to Mary and make processes easy/convenient for Mark. You have to "
        "ensure Jennie never loses that feature, and you’d need to reinforce perceived value and add "
        "actual value for Josh. You’d have to be consistent with Renee and ensure your co-workers "
        "provide her the same level of service; with Rashaad, you’ve got to treat him like a king!\n"
        "\n"
        "To create a customer for life, be conscious of the unique quality that keeps each customer. "
        "Then – in every encounter – strive to address that reason for staying.",
    ),
    (
        "Facial Recognition is the Future of Customer Service",
        "3/26/19",
        "According to a recent New York Times article, facial recognition is the future of retail "
        "customer service. A trend in technology for retail businesses is to utilize facial "
        "recognition technology in order to better know who is entering your business. The idea is "
        "that if somebody within that store can instantly know as much about you based on a picture "
        "of your face that is run against a database, they can instantly tailor their sales or "
        "service encounter to you.\n"
        "\n"
        "This “revolutionary” approach to better knowing the customers without them knowing that you "
        "know them (hope that wasn’t too confusing) includes utilizing your phone GPS trackers to "
        "tap into your social apps to learn about you immediately upon your arrival at the store.\n"
        "\n"
        "Before this sounds too “Big Brother-ish,” the only thing truly revolutionary about this is "
        "the technology piece. Facial recognition is something that every customer service employee "
        "in every organization should know how to do for customers that are walking through their "
        "door. It’s important to be able to look at someone and gauge whether they are happy or "
        "angry, they’re confused and looking around or confident and moving toward a particular "
        "area, whether they are disinterested parties following their spouse around or people who "
        "are lighting up at the environment that they just walked into in the store.\n"
        "\n"
        "These are skills that every employee needs to have because every customer is different. "
        "Employees need to be aware of the body language, aware of the expressions, aware of the "
        "movements of the individual and their gestures – because having some sense of what these "
        "mean gives you some insights into how to approach and address a customer.\n"
        "\n"
        "Before we wait until that time where we walk into any store and immediately every sales "
        "representative pulls up a detailed personal bio that makes a ton of assumptions about who "
        "we are as a person based on what website we went to 3 days ago, let’s first make sure our "
        "employees truly understand how to read somebody that’s standing in front of them. Let’s "
        "ensure that we care enough to view the uniqueness of any customer in a way that no app can "
        "truly convey.\n"
        "\n"
        "Technology facial recognition maybe the future of retail customer service, but customer "
        "recognition is the past, present, AND future.",
    ),
    (
        "Be a Star at Something, but NOT Everything",
        "8/5/14",
        "I’ve often used the phrase “Customer Service Stars” to address people who are outstanding "
        "at customer service. And while I would never tell anyone not to continually improve "
        "themselves (sorry for the double negative…), I don’t think that people should have to be "
        "great at everything to be great. In fact, it’s often counterproductive to try to be great "
        "at everything you do.\n"
        "\n"
        "Think about your product, service, and process knowledge. To have complete knowledge of all "
        "those aspects of your organization requires a tremendous amount of study and continuous "
        "review of all changes that continually happen in most organizations.\n"
        "\n"
        "Think about having the skills that you need to handle every customer interaction – control "
        "over your body language, tone, and words. You’d need the quick ability to change direction "
        "for every call, every interaction, every meeting to perfectly address the uniqueness of "
        "every individual and their situation.\n"
        "\n"
        "How many of us are perfect at business writing – constructing e-mails with the tone and "
        "content that maximizes the perception of the reader that we care while simultaneously "
        "giving them the best answer?\n"
        "\n"
        "We could go to key customer service principles – responsiveness, respect, collaboration, "
        "empathy, active listening, organizational skills, etc. Who’s perfect at those?\n"
        "\n"
        "The point is that to be great at all these and the many other things required of someone in "
        "customer service, it’s virtually impossible, and I don’t want you to feel bad about your "
        "shortcomings. Customer service is my business – literally – and I fall far short in many of "
        "these points; I just keep working on them.\n"
        "\n"
        "So keep working on your shortcomings, but find out where you’re already great!\n"
        "\n"
        "You have that infectious attitude. You’re very organized, and that helps you to be "
        "productive and responsive. You’re highly empathetic and/or a great listener. You’re an "
        "incredibly self-aware person, so you know how you come across with your body language, "
        "tone, and words.\n"
        "\n"
        "While you should continuously work to be good at all the qualities and skills of Customer "
        "Service Stars, make sure you know where you are already a Star (or REALLY close), and make "
        "that trait your calling card. Make that aspect of who you are be the aspect that separates "
        "you from others. Make that characteristic of who you are or how you act help you to stand "
        "out today.\n"
        "\n"
        "Stand out to others by finding that one thing where you can be great.",
    ),
    (
        "Jamey Needed to Slow Down",
        "6/10/14",
        "Jamey is young, but he’s pretty good at sales – his new sales numbers generally prove the "
        "point. He seems to care about fixing issues, speaks articulately, and responds quickly and "
        "specifically “on his feet” when asked the tough questions or challenged. He’s confident, so "
        "Jamey was shocked when one of his accounts told him “That’s not how things are done in the "
        "South; you’ve got to develop a relationship first.”\n"
        "\n"
        "Jamey had responded to every request or question, quickly. He was speedy in resolution to "
        "issues. He didn’t take up too much of the customer’s time on the phone – the conversations "
        "were short and quick.\n"
        "\n"
        "The problem was that Jamey’s quick responses, fast talking, and general speed (in "
        "everything he did) didn’t appeal to this client. The quick responses were good, but they "
        "were often a few words in an e-mail with no greeting such as “Nope. Can’t work that out "
        "this time.”\n"
        "\n"
        "Jamey thought he was being considerate of the client’s time with his quick calls, but they "
        "were quick because Jamey was peppering his customer with questions instead of creating a "
        "more two-way conversational tone. When Jamey received a call from the account, he typically "
        "talked fast and hung up quickly. When Jamey fixed a problem quickly, he often didn’t call "
        "the client to ensure that the fix worked.\n"
        "\n"
        "Even though Jamey did so many things technically correct, he didn’t have a good enough read "
        "on this account to tailor how he communicated about those “things” to the preference of his "
        "client. So the client interpreted that Jamey was impatient, rushed, or just didn’t care "
        "about the client.\n"
        "\n"
        "In customer service, sometimes it’s not just about what you do or how quickly you do it; "
        "rather, to many customers, it’s how you communicate with them during the process.\n"
        "\n"
        "Don’t rush through conversations like they’re just another box on the “To Do” list. Be "
        "patient. View relationship-building as a process.",
    ),
    (
        "I Assume She is Not Like Me",
        "3/4/14",
        "She left me a voice mail, and I prefer to respond via e-mail. She talks really fast, and I "
        "prefer a more casual speed. What she wants most is to be heard, and what I want most is to "
        "have my problem fixed. She wants to be walked through a process by an employee, and I want "
        "the self-service option.\n"
        "\n"
        "She is the customer. I am the employee. We could not be more different.\n"
        "\n"
        "But what if I prefer voice mail, I talk fast, I want to be heard, and I want that 1-on-1 "
        "employee support? Then we’re the same, correct?\n"
        "\n"
        "The point is not in the determination of whether we’re the same or different. The point is "
        "that we can’t make assumptions that we and the customers are the same.\n"
        "\n"
        "How I prefer to be communicated with, how I prefer a situation be handled, how I prefer to "
        "get a need met may be the same as 70% of my customers, but what about the other 30%? If I "
        "believe that they are like me, I could deliver some pretty lousy service to those 30%.\n"
        "\n"
        "This is when we talk about the importance on not assuming the customer is just like us. "
        "This is when trying to convey empathy is so important. Because customers want their need or "
        "issue addressed, but many also want it addressed in a certain manner, and if we don’t take "
        "the initiative to identify not only what they want but how they want it received or "
        "handled, we could have a dissatisfied customer.\n"
        "\n"
        "Don’t just describe what you’ll do for the customer, but confirm that will work. Don’t just "
        "assume how you’ll communicate with them, but ask their preference. Don’t just overlook the "
        "particulars of their situation, ask them for the details.\n"
        "\n"
        "To deliver great customer service, we have to avoid the assumption they are like us and – "
        "instead – confirm the reality. Assume they’re different; that focus will force you to ask "
        "them about themselves, their needs, their issues, and their preferences. It will put you in "
        "a learning mindset, and it will make you better at serving them in the best manner "
        "possible.\n"
        "\n"
        "Assume the customer is different from you.",
    ),
]
