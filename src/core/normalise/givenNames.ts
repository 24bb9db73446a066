import { nicknameTable } from './nicknames.ts';

/**
 * Common given names in the UK (ONS baby-name lists across generations, plus the nickname table). Two different
 * names that are both on this list are two names — Jack and Jake, John and Joan — so they never count as a typo of
 * each other; a name that is not on it (`Rnyan`, `Pzul`) may be a slip of the keyboard.
 */
const common = `
aaron abdul adam adrian ahmed aidan aiden alan albie alfie ali alice alicia alison amanda amber amelia amy ana
anna annabel anne annie arlo archie aria arthur ashley aston aubrey ava barry beatrice bella bethany beverley
billie blake bonnie brandon brenda brian bruce callum cameron carl carly carol caroline carolyn cerys chloe
christian claire clara clarence colin connor craig cyril daisy dale damian darren dawn dean declan denise
dennis derek diana diane dylan edith elaine eli elijah ella ellie elliot elsie emilia erin esme ethan eva evan
evelyn evie ewan faye felix finley finn florence frank freya gail gary gavin gemma george georgia gordon grace
graham hannah harley harper harriet harrison harvey hayley hazel heather heidi holly hugo ian imogen irene iris
isaac isla ivy jack jackson jacqueline jade jake jamal jasmine jason jayden jean jeremy jesse jill joan joanne
jodie joel jordan jose josh joy joyce julia julie justin karen karl kate katie kayla keith kelly kevin kieran kyle
lacey laura lauren layla leah lee leo leon leslie lexi liam lily lisa logan lola lorraine louie luca lucas lucy
luke lydia lynn mabel maddison maisie malcolm marcus maria marie marion mark martha maureen max maya megan
melanie mia millie mila mohammed muhammad molly morgan nancy naomi nathan neil niamh nigel noah norman olive
oscar owen paige pamela paul pauline penny phoebe poppy rachel raymond reece reggie rhys riley robin roger rory
rose ross roy ruby rupert ruth ryan sadie sally sandra scarlett sean shane sharon sheila shirley sienna sofia
sophia sophie spencer stacey stanley summer sylvia tanya teresa theo tina toby tom tommy tracey trevor tyler
vera violet wayne wendy willow yasmin yvonne zara zoe
`;

const knownNames: ReadonlySet<string> = new Set([
  ...common.split(/\s+/).filter(Boolean),
  ...nicknameTable.flat(),
]);

/** Whether a folded given name is a known name rather than, possibly, a typo. */
export const isKnownGivenName = (name: string): boolean => knownNames.has(name);

/** Every known given name, for finding the name an unknown spelling was a typo of. */
export const knownGivenNames: readonly string[] = [...knownNames];
