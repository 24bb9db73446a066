/**
 * UK given-name equivalence: each row is one formal name followed by the short forms people use for it.
 * A short form may sit in several rows (`alex` is Alexander or Alexandra); two names are equivalent when
 * they share a row. The first entry of a row is its key. Lower case ASCII, as `foldText` produces.
 */
export const nicknameTable: readonly (readonly string[])[] = [
  ['abigail', 'abi', 'abby', 'abbie', 'gail'],
  ['albert', 'al', 'bert', 'bertie', 'albie'],
  ['alexander', 'alex', 'alec', 'alastair', 'alasdair', 'alistair', 'sandy', 'xander', 'al'],
  ['alexandra', 'alex', 'alexa', 'lexi', 'sandy', 'sasha'],
  ['alfred', 'alf', 'alfie', 'fred', 'freddie', 'al'],
  ['alan', 'al', 'allan', 'allen'],
  ['andrew', 'andy', 'drew', 'andi'],
  ['angela', 'angie', 'ange'],
  ['anthony', 'tony', 'ant', 'antony'],
  ['arthur', 'art', 'artie'],
  ['barbara', 'barb', 'babs', 'barbie'],
  ['benjamin', 'ben', 'benny', 'benji'],
  ['bernard', 'bernie', 'barney'],
  ['bradley', 'brad'],
  ['catherine', 'cath', 'cathy', 'kate', 'katie', 'kath', 'kathy', 'cat', 'katherine', 'kathryn', 'kitty'],
  ['charles', 'charlie', 'chas', 'chaz', 'chuck'],
  ['charlotte', 'charlie', 'lottie', 'lotte', 'char'],
  ['christine', 'chris', 'chrissie', 'christina'],
  ['christopher', 'chris', 'kit', 'topher', 'kristopher'],
  ['clifford', 'cliff'],
  ['daniel', 'dan', 'danny'],
  ['david', 'dave', 'davey', 'davy'],
  ['deborah', 'debbie', 'deb', 'debs', 'debra'],
  ['dominic', 'dom'],
  ['donald', 'don', 'donny'],
  ['dorothy', 'dot', 'dottie'],
  ['douglas', 'doug', 'dougie'],
  ['edward', 'ed', 'eddie', 'eddy', 'ted', 'teddy', 'ned'],
  ['edmund', 'ed', 'eddie', 'ted', 'ned'],
  ['edwin', 'ed', 'eddie', 'eddy', 'ned', 'win'],
  ['eleanor', 'ellie', 'nell', 'nellie', 'elle', 'elinor'],
  [
    'elizabeth',
    'liz',
    'lizzie',
    'lizzy',
    'beth',
    'betty',
    'betsy',
    'bess',
    'bessie',
    'eliza',
    'liza',
    'libby',
  ],
  ['emily', 'em', 'emmy', 'emmie', 'millie'],
  ['emma', 'em', 'emmy'],
  ['eugene', 'gene'],
  ['frances', 'fran', 'frankie', 'fanny'],
  ['francis', 'frank', 'frankie', 'fran'],
  ['frederick', 'fred', 'freddie', 'freddy', 'fredrick'],
  ['gabriel', 'gabe'],
  ['gabrielle', 'gabby', 'gabi', 'gaby'],
  ['geoffrey', 'geoff', 'jeff', 'jeffrey'],
  ['gerald', 'gerry', 'ged', 'jerry'],
  ['gillian', 'gill', 'jill', 'gilly'],
  ['gregory', 'greg'],
  ['harold', 'harry', 'hal'],
  ['helen', 'nell', 'helena'],
  ['henry', 'harry', 'hal', 'hank'],
  ['herbert', 'herb', 'herbie', 'bert'],
  ['isabel', 'izzy', 'isabella', 'isabelle', 'bella', 'belle', 'issy'],
  ['jacob', 'jake', 'jakey'],
  ['james', 'jim', 'jimmy', 'jimmie', 'jamie', 'jimbo', 'jem'],
  ['jane', 'janie', 'jenny'],
  ['janet', 'jan', 'jen', 'netty'],
  ['jennifer', 'jen', 'jenny', 'jenni', 'jenna'],
  ['jessica', 'jess', 'jessie'],
  ['joanna', 'jo', 'joanne', 'joan', 'jojo'],
  ['john', 'jack', 'johnny', 'jon', 'jonny'],
  ['jonathan', 'jon', 'jonny', 'johnny'],
  ['joseph', 'joe', 'joey', 'jo'],
  ['josephine', 'jo', 'josie'],
  ['joshua', 'josh'],
  ['judith', 'judy', 'jude'],
  ['julian', 'jules'],
  ['kenneth', 'ken', 'kenny'],
  ['kimberley', 'kim', 'kimberly'],
  ['lawrence', 'laurence', 'larry', 'laurie', 'lol'],
  ['leonard', 'len', 'lenny', 'leo'],
  ['lewis', 'lew', 'louis', 'lou', 'louie'],
  ['louise', 'lou', 'lulu', 'louisa'],
  ['margaret', 'maggie', 'meg', 'peggy', 'marge', 'madge', 'maisie', 'mags', 'margo'],
  ['martin', 'marty'],
  ['mary', 'molly', 'polly', 'mamie'],
  ['matilda', 'tilly', 'tilda', 'mattie'],
  ['matthew', 'matt', 'matty', 'mat'],
  ['michael', 'mike', 'mick', 'micky', 'mickey', 'mikey', 'mich'],
  ['michelle', 'shell', 'shelley', 'chelle'],
  ['nathaniel', 'nat', 'nate'],
  ['nicholas', 'nick', 'nicky', 'nico', 'nic', 'nicolas'],
  ['nicola', 'nicky', 'nikki', 'nic', 'nicole'],
  ['oliver', 'ollie', 'olly', 'noll'],
  ['olivia', 'liv', 'livvy', 'ollie'],
  ['patricia', 'pat', 'patty', 'tricia', 'trish', 'patsy'],
  ['patrick', 'pat', 'paddy'],
  ['peter', 'pete'],
  ['philip', 'phil', 'pip', 'phillip'],
  ['rebecca', 'becky', 'becca', 'bex'],
  ['richard', 'rich', 'richie', 'richey', 'ritchie', 'rick', 'ricky', 'dick', 'dickie'],
  ['robert', 'rob', 'robbie', 'robby', 'bob', 'bobby', 'bobbie', 'bert'],
  ['ronald', 'ron', 'ronnie'],
  ['rosemary', 'rose', 'rosie', 'romy'],
  ['samantha', 'sam', 'sammy', 'sammie'],
  ['samuel', 'sam', 'sammy', 'sammie'],
  ['sarah', 'sally', 'sadie', 'sara'],
  ['simon', 'si'],
  ['stephanie', 'steph', 'stevie'],
  ['stephen', 'steve', 'steven', 'stevie', 'steph'],
  ['stuart', 'stu', 'stewart'],
  ['susan', 'sue', 'susie', 'suzy', 'suzanne', 'susannah'],
  ['terence', 'terry', 'tel'],
  ['theodore', 'theo', 'ted', 'teddy'],
  ['thomas', 'tom', 'tommy', 'tommie', 'thom'],
  ['timothy', 'tim', 'timmy'],
  ['valerie', 'val'],
  ['victoria', 'vicky', 'vicki', 'tori', 'vic'],
  ['vincent', 'vince', 'vinny'],
  ['walter', 'walt', 'wally'],
  ['william', 'will', 'bill', 'billy', 'willie', 'willy', 'wills'],
  ['zachary', 'zach', 'zack', 'zak'],
  ['agnes', 'aggie', 'nessie'],
  ['algernon', 'algie', 'algy'],
  ['archibald', 'archie', 'archy'],
  ['augustus', 'gus', 'gussie'],
  ['florence', 'flo', 'florrie', 'flossie'],
  ['gertrude', 'gertie', 'trudy'],
  ['gwendolen', 'gwen', 'gwendoline'],
  ['harriet', 'hattie'],
  ['henrietta', 'hetty', 'hettie', 'etta'],
  ['howard', 'howie'],
  ['hugh', 'hughie', 'huey'],
  ['lavinia', 'vinnie'],
  ['norman', 'norm', 'norrie'],
  ['penelope', 'penny', 'pen'],
  ['reginald', 'reg', 'reggie'],
  ['winifred', 'winnie', 'win'],
  ['adelaide', 'addie'],
  ['adeline', 'addie'],
  ['antoinette', 'toni', 'netta'],
  ['arabella', 'bella', 'belle'],
  ['bartholomew', 'bart'],
  ['cyril', 'cy'],
  ['ernest', 'ernie', 'ern'],
  ['esther', 'essie', 'hetty'],
  ['isaac', 'ike', 'zac'],
  ['josiah', 'joss'],
  ['kathleen', 'kath', 'kathy'],
  ['martha', 'matty', 'mattie', 'patty'],
  ['maurice', 'mo'],
  ['meredith', 'merry'],
  ['moses', 'mo', 'mose'],
  ['percival', 'percy'],
  ['peregrine', 'perry'],
  ['priscilla', 'cilla', 'prissy'],
  ['ralph', 'ralphie', 'rafe'],
  ['raymond', 'ray'],
  ['sidney', 'sid', 'syd', 'sydney'],
  ['stanley', 'stan'],
  ['theodora', 'dora', 'thea'],
  ['victor', 'vic', 'vick'],
  ['violet', 'vi'],
  ['wilfred', 'wilf', 'wilfrid', 'fred'],
];

const groupsByName: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, string[]>();
  for (const row of nicknameTable) {
    const key = row[0] ?? '';
    for (const name of row) map.set(name, [...(map.get(name) ?? []), key]);
  }
  return map;
})();

/** The keys of every row a given name belongs to (empty when the name is in no row). */
export function nicknameGroups(name: string): readonly string[] {
  return groupsByName.get(name) ?? [];
}

/** Every name sharing a row with this one, itself included (empty when the name is in no row). */
export function nicknameForms(name: string): readonly string[] {
  return formsByName.get(name) ?? [];
}

const formsByName: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, Set<string>>();
  for (const row of nicknameTable) {
    for (const name of row) {
      const forms = map.get(name) ?? new Set<string>();
      for (const form of row) forms.add(form);
      map.set(name, forms);
    }
  }
  return new Map([...map].map(([name, forms]) => [name, [...forms]]));
})();

/** Whether two (folded) given names may name the same person through a nickname. */
export function areNicknames(a: string, b: string): boolean {
  const groups = nicknameGroups(a);
  return groups.length > 0 && nicknameGroups(b).some((g) => groups.includes(g));
}
