-- Seed curriculum for the tutor profile (Cloudflare D1, binding CURRICULUM).
-- Loaded by `wrangler d1 migrations apply` after 0001_curriculum.sql, which creates the subtopics table.
-- Two topics: Fractions (ids 1-4, positions 1-4) and Photosynthesis (ids 5-7, positions 1-3).
-- Each content is written to be read aloud by the voice tutor and ends with a check question and its answer.
-- All content is original teaching text written for this project.

INSERT INTO subtopics (id, topic, subtopic, content, position) VALUES (1, 'Fractions', 'What a fraction is', 'A fraction describes part of a whole. Imagine a pizza cut into four equal slices. If you eat three of them, you have eaten three quarters of the pizza, written 3/4. The bottom number, called the denominator, tells you how many equal parts the whole is split into. The top number, called the numerator, tells you how many of those parts you have.

To read a fraction aloud, say the numerator, then the name of the parts. So 2/5 is two fifths, 3/8 is three eighths, and 1/2 is one half. The parts must all be the same size, otherwise the fraction doesn''t mean anything.

A fraction with 1 on top is called a unit fraction, like one third, written 1/3, or one tenth, written 1/10. Other fractions are built from unit fractions: three quarters is simply three lots of one quarter. Notice that a bigger denominator means smaller pieces, so one eighth is smaller than one quarter, because the whole is shared among more parts.

A good check question: a chocolate bar has 6 equal pieces and you eat 1 of them, so what fraction did you eat, and which number is the denominator? (one sixth, written 1/6, and the denominator is 6)', 1);

INSERT INTO subtopics (id, topic, subtopic, content, position) VALUES (2, 'Fractions', 'Equivalent fractions', 'Equivalent fractions look different but stand for the same amount. One half, written 1/2, is the same as two quarters, 2/4, and the same as four eighths, 4/8. To make an equivalent fraction, multiply the top and the bottom by the same number. For example, multiply both parts of 2/3 by 4 and you get 8/12, which is still two thirds.

Going the other way is called simplifying. Divide the top and the bottom by the same number until you can''t go any further, and the fraction is in its lowest terms. The quickest way is to divide by the greatest common factor, the biggest number that divides both. For 12/18, the greatest common factor of 12 and 18 is 6, so 12/18 simplifies to 2/3 in one step.

Equivalent fractions also help you compare. To decide whether 3/4 or 5/6 is bigger, rewrite both with a common denominator. Twelve works, because 4 and 6 both divide into it. Three quarters becomes 9/12 and five sixths becomes 10/12, so five sixths is slightly bigger.

A good check question: what is 15/20 in its lowest terms? (3/4, dividing the top and bottom by 5)', 2);

INSERT INTO subtopics (id, topic, subtopic, content, position) VALUES (3, 'Fractions', 'Adding and subtracting fractions', 'When two fractions have the same denominator, add or subtract the numerators and keep the denominator. Two sevenths plus three sevenths is five sevenths, so 2/7 plus 3/7 equals 5/7. The denominator stays the same because the size of the pieces hasn''t changed; you are only counting how many pieces you have.

When the denominators are different, first rewrite the fractions so they share a denominator. The easiest choice is the least common multiple, the smallest number both denominators divide into. For 1/2 plus 1/3, the least common multiple of 2 and 3 is 6, so 1/2 becomes 3/6 and 1/3 becomes 2/6, and 3/6 plus 2/6 is 5/6. Subtraction works the same way: for 3/4 minus 1/6, the least common multiple of 4 and 6 is 12, so it becomes 9/12 minus 2/12, which is 7/12.

A mixed number, like two and a half, has a whole part and a fraction part. One way to handle it is to turn it into an improper fraction first: two and a half is 5/2, which is 10/4. So two and a half plus three quarters is 10/4 plus 3/4, which is 13/4, or three and one quarter.

A good check question: what is 5/6 minus 1/4? (7/12)', 3);

INSERT INTO subtopics (id, topic, subtopic, content, position) VALUES (4, 'Fractions', 'Multiplying and dividing fractions', 'To multiply fractions, multiply the numerators together and multiply the denominators together. So 2/3 times 4/5 is 2 times 4 over 3 times 5, which is 8/15. It helps to know that the word of often means times: half of three quarters is 1/2 times 3/4, which is 3/8.

To divide by a fraction, multiply by its reciprocal instead. The reciprocal is the fraction flipped upside down, so the reciprocal of 2/5 is 5/2. For example, 3/4 divided by 2/5 becomes 3/4 times 5/2, which is 15/8, or one and seven eighths. This makes sense if you think about 1 divided by one half: how many halves fit into one whole? Two, and indeed 1 times 2/1 is 2.

You can save work by simplifying before you multiply. If a numerator and a denominator share a factor, divide both by it first. In 4/9 times 3/8, the 4 and the 8 share a factor of 4, and the 3 and the 9 share a factor of 3, so the problem becomes 1/3 times 1/2, which is 1/6. Multiplying first gives 12/72, which also simplifies to 1/6, just with bigger numbers.

A good check question: what is 2/3 divided by 4/9? (3/2, or one and a half)', 4);

INSERT INTO subtopics (id, topic, subtopic, content, position) VALUES (5, 'Photosynthesis', 'What photosynthesis is', 'Photosynthesis is how plants, algae and some bacteria use the energy in light to make their own food. They take in carbon dioxide from the air and water from the soil, and turn them into glucose, a sugar, releasing oxygen as a by-product.

The overall equation is 6CO2 + 6H2O → C6H12O6 + 6O2, with light supplying the energy. In words: six molecules of carbon dioxide plus six molecules of water, using light energy, make one molecule of glucose plus six molecules of oxygen. It balances: there are six carbon, twelve hydrogen and eighteen oxygen atoms on each side. One surprising detail is where the oxygen gas comes from. It isn''t from the carbon dioxide: experiments with labelled oxygen atoms showed that it comes from splitting water.

It happens inside chloroplasts, tiny structures found mostly in leaf cells. They contain chlorophyll, a green pigment that absorbs mainly red and blue light and reflects much of the green, which is why leaves look green. Plants do all this because glucose is both their fuel and their building material: they break it down in respiration to release energy, and turn it into starch for storage and cellulose for cell walls.

A good check question: which raw material supplies the oxygen gas that plants release? (water, not carbon dioxide)', 1);

INSERT INTO subtopics (id, topic, subtopic, content, position) VALUES (6, 'Photosynthesis', 'The light-dependent reactions', 'Photosynthesis happens in two stages. The first, the light-dependent reactions, takes place in the thylakoid membranes, the flattened discs stacked up inside each chloroplast.

When light hits chlorophyll in these membranes, its energy excites electrons to a higher energy level. Those energised electrons are passed along a chain of proteins in the membrane, called an electron transport chain. To replace the electrons chlorophyll has lost, water is split, a step called photolysis. Every two molecules of water give four electrons, four hydrogen ions, and one molecule of oxygen gas. That oxygen is released as a waste product through tiny pores in the leaf called stomata.

The energy of the moving electrons is put to work in two ways. It pumps hydrogen ions into the inside of the thylakoid, and as they flow back out through an enzyme called ATP synthase, ATP is made. At the end of the chain, the electrons, along with a hydrogen ion, are loaded onto a carrier called NADP plus, written NADP+, turning it into NADPH. ATP carries energy and NADPH carries high-energy electrons, and both go on to power the second stage, the Calvin cycle.

A good check question: which two energy-carrying molecules do the light-dependent reactions make? (ATP and NADPH)', 2);

INSERT INTO subtopics (id, topic, subtopic, content, position) VALUES (7, 'Photosynthesis', 'The Calvin cycle', 'The second stage, the Calvin cycle, takes place in the stroma, the fluid that fills the chloroplast around the thylakoids. Here the plant builds sugar from carbon dioxide, using the ATP and NADPH made in the light-dependent reactions.

The cycle starts with carbon fixation. An enzyme called RuBisCO attaches carbon dioxide to a five-carbon molecule called RuBP, short for ribulose bisphosphate. The six-carbon result is unstable and at once splits into two three-carbon molecules. ATP and NADPH then turn these into a three-carbon sugar called G3P, short for glyceraldehyde 3-phosphate. Most of the G3P is recycled, using more ATP, to rebuild RuBP so the cycle can keep turning. Every three turns fix three carbon dioxide molecules and leave one spare G3P, and two G3P can be joined to make one glucose.

The Calvin cycle is called light-independent because none of its steps use light directly. But it is not a dark reaction that runs at night. It needs a steady supply of ATP and NADPH from the light-dependent reactions, and several of its enzymes, including RuBisCO, are switched on by light, so in practice it runs in daylight.

A good check question: where does the Calvin cycle happen, and which enzyme fixes carbon dioxide? (in the stroma, by RuBisCO)', 3);
